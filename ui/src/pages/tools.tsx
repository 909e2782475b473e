/** MCP tool servers of the API process: state, restarts, their tools; disable and enable (tools:write). */
import { api, data } from '../api.ts';
import { useSession } from '../session.tsx';
import { ConfirmButton, ErrorNote, StatusBadge, useLoad } from '../util.tsx';

export function ToolsPage() {
  const { can } = useSession();
  const { value, error, reload } = useLoad(async () => (await data(api.GET('/v1/tools'))).items, [], 10_000);
  const write = can('tools:write');
  return (
    <section>
      <h1>Tools</h1>
      <ErrorNote error={error} />
      {value?.length === 0 && <p>This server has no tool servers (tools/*.yaml).</p>}
      <ul className="cards">
        {value?.map((server) => (
          <li key={server.name} className="card" data-tool={server.name}>
            <h2>
              {server.name} <StatusBadge status={server.state} />
            </h2>
            <p>
              {server.transport} · {server.tools} tools · {server.restarts} restarts{server.pid ? ` · pid ${server.pid}` : ''}
            </p>
            {server.last_error && <p className="error">Last error: {server.last_error}</p>}
            {server.disabled_reason && <p>Disabled: {server.disabled_reason}</p>}
            {write && (
              <div className="actions">
                {server.state === 'disabled' ? (
                  <ConfirmButton
                    label={`Enable ${server.name}`}
                    question={`Enable tool server ${server.name}? Agents may call its tools again.`}
                    action={async () => {
                      await data(api.POST('/v1/tools/{name}/enable', { params: { path: { name: server.name } }, body: {} }));
                      reload();
                    }}
                  />
                ) : (
                  <ConfirmButton
                    label={`Disable ${server.name}`}
                    danger
                    question={`Disable tool server ${server.name}? Calls to its tools fail until it is enabled.`}
                    action={async () => {
                      await data(
                        api.POST('/v1/tools/{name}/disable', { params: { path: { name: server.name } }, body: { reason: 'disabled from the console' } }),
                      );
                      reload();
                    }}
                  />
                )}
              </div>
            )}
            {server.tool_list.length > 0 && (
              <details>
                <summary>Tools of {server.name}</summary>
                <ul>
                  {server.tool_list.map((t) => (
                    <li key={t.name}>
                      <code>{t.name}</code> {t.description} {t.disabled && <em>(disabled)</em>} {t.require_approval && <em>(needs approval)</em>}
                    </li>
                  ))}
                </ul>
              </details>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
