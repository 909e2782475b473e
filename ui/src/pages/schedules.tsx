/** Workflow schedules: cron, next tick, last run; pause and resume (runs:write). */
import { api, data } from '../api.ts';
import { Link } from '../router.tsx';
import { useSession } from '../session.tsx';
import { ConfirmButton, ErrorNote, formatTime, useLoad } from '../util.tsx';

export function SchedulesPage() {
  const { can } = useSession();
  const { value, error, reload } = useLoad(async () => (await data(api.GET('/v1/schedules'))).items, [], 10_000);
  const write = can('runs:write');
  return (
    <section>
      <h1>Schedules</h1>
      <ErrorNote error={error} />
      {value?.length === 0 && <p>No workflow has a schedule.</p>}
      {(value?.length ?? 0) > 0 && (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Workflow</th>
                <th scope="col">Cron</th>
                <th scope="col">Next tick</th>
                <th scope="col">Last run</th>
                <th scope="col">State</th>
                {write && <th scope="col">Action</th>}
              </tr>
            </thead>
            <tbody>
              {value?.map((s) => (
                <tr key={s.workflow}>
                  <td>{s.workflow}</td>
                  <td>
                    <code>{s.cron}</code> ({s.timezone})
                  </td>
                  <td>{s.paused ? 'paused' : formatTime(s.next_at)}</td>
                  <td>{s.last_run_id ? <Link to={`runs/${s.last_run_id}`}>{s.last_run_id}</Link> : '—'}</td>
                  <td>{s.paused ? 'paused' : 'active'}</td>
                  {write && (
                    <td>
                      <ConfirmButton
                        label={s.paused ? `Resume ${s.workflow}` : `Pause ${s.workflow}`}
                        question={
                          s.paused ? `Resume the schedule of ${s.workflow}?` : `Pause the schedule of ${s.workflow}? No run starts until it is resumed.`
                        }
                        action={async () => {
                          const params = { params: { path: { workflow: s.workflow } }, body: {} };
                          await data(s.paused ? api.POST('/v1/schedules/{workflow}/resume', params) : api.POST('/v1/schedules/{workflow}/pause', params));
                          reload();
                        }}
                      />
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
