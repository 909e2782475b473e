/**
 * `agentry tools list [--server <name>]|disable <name> --reason <text>|enable <name>`: the MCP
 * tool servers of a running deployment. Connections and tool lists live in the server process,
 * so these commands always go through its API (`AGENTRY_URL` + `AGENTRY_API_KEY`); the switch is
 * the fleet's (stored, followed by every process). `--json` prints what the API returns
 * (`list`: its `items` array; `list --server`: the server).
 */
import type { Command } from 'commander';
import { AgentryError } from '../../lib/errors.js';
import type { ToolDto, ToolServerDto } from '../../app/dto/tools.js';
import { RemoteClient } from '../remote.js';
import { configFrom, out, outJson, outStyle, type CliContext } from '../context.js';
import { paint, table } from '../format.js';

/** The server from `AGENTRY_URL`; exit 2 without one (there is no local tool state to act on). */
function serverOf(ctx: CliContext): RemoteClient {
  const config = configFrom(ctx, {});
  if (config.client.url === undefined) {
    throw new AgentryError(
      'invalid_request',
      'tool state lives in the running server: set AGENTRY_URL to its address (and AGENTRY_API_KEY to a key with tools:read / tools:write)',
    );
  }
  return new RemoteClient({ url: config.client.url, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
}

function describe(status: ToolServerDto): string {
  if (status.disabled_reason !== undefined) return `disabled: ${status.disabled_reason}`;
  return status.last_error ?? '';
}

/** `tool server crm` or `tool crm.delete_customer`. */
function what(name: string): string {
  return name.includes('.') ? `tool ${name}` : `tool server ${name}`;
}

function toolNote(tool: ToolDto): string {
  if (tool.disabled) return `disabled: ${tool.disabled_reason ?? ''}`;
  return (tool.description ?? '').split('\n')[0]!.slice(0, 80);
}

export function registerTools(program: Command, ctx: CliContext): void {
  const tools = program
    .command('tools')
    .description('MCP tool servers of the running server (AGENTRY_URL): list, disable, enable')
    .addHelpText(
      'after',
      `
These commands call the server's API (AGENTRY_URL, AGENTRY_API_KEY). A disable or enable is stored:
every API and worker process follows it within seconds, and it survives restarts. See docs/tools.md.`,
    );

  tools
    .command('list')
    .description("List the tool servers with their state, or one server's tools (--server)")
    .option('--server <name>', "list this server's tools now (connecting it if need be): name, function name, approval, state")
    .option('--json', 'print the API answer as JSON')
    .action(async (opts: { json?: boolean; server?: string }) => {
      const server = serverOf(ctx);
      if (opts.server !== undefined) {
        const status = await server.request<ToolServerDto>('GET', `/v1/tools/${encodeURIComponent(opts.server)}`);
        if (opts.json === true) return outJson(ctx, status);
        const style = outStyle(ctx);
        const head = `${status.name} (${status.transport}, ${status.state}${status.disabled_reason === undefined ? '' : `: ${status.disabled_reason}`}): ${status.tool_list.length} tools`;
        const rows = status.tool_list.map((t) => [
          t.name,
          t.function_name,
          t.require_approval ? 'yes' : 'no',
          t.disabled ? paint(style, 'yellow', 'disabled') : paint(style, 'green', 'enabled'),
          toolNote(t),
        ]);
        const note = status.tool_list.length === 0 && status.last_error !== undefined ? `\nLast error: ${status.last_error}` : '';
        out(ctx, `${head}\n${table(style, ['TOOL', 'FUNCTION', 'APPROVAL', 'STATE', 'NOTE'], rows)}${note}`);
        return;
      }
      const { items } = await server.request<{ items: ToolServerDto[] }>('GET', '/v1/tools');
      if (opts.json === true) {
        outJson(ctx, { items });
        return;
      }
      if (items.length === 0) {
        out(ctx, `No tool servers on ${server.url} (the project has no tools/*.yaml).`);
        return;
      }
      const style = outStyle(ctx);
      const look = (state: string): string =>
        paint(style, state === 'connected' ? 'green' : state === 'idle' ? 'dim' : state === 'failed' ? 'red' : 'yellow', state);
      out(
        ctx,
        table(
          style,
          ['NAME', 'TRANSPORT', 'STATE', 'TOOLS', 'RESTARTS', 'NOTE'],
          items.map((s) => [s.name, s.transport, look(s.state), String(s.tools), String(s.restarts), describe(s)]),
        ),
      );
    });

  tools
    .command('disable')
    .description('Disable a tool server or one tool on every process: its calls fail fast with tool_disabled until enabled')
    .argument('<name>', 'tool server name (crm), or one tool of it (crm.delete_customer)')
    .requiredOption('--reason <text>', 'why (shown in the tool_disabled errors)')
    .option('--json', 'print the tool server as POST /v1/tools/{name}/disable does')
    .action(async (name: string, opts: { reason: string; json?: boolean }) => {
      const server = serverOf(ctx);
      const status = await server.request<ToolServerDto>('POST', `/v1/tools/${encodeURIComponent(name)}/disable`, { reason: opts.reason });
      if (opts.json === true) return outJson(ctx, status);
      out(ctx, `Disabled ${what(name)} on ${server.url} (every process follows within seconds): ${opts.reason}`);
    });

  tools
    .command('enable')
    .description('Enable a disabled tool server (also resets a used-up restart budget) or tool on every process')
    .argument('<name>', 'tool server name (crm), or one tool of it (crm.delete_customer)')
    .option('--json', 'print the tool server as POST /v1/tools/{name}/enable does')
    .action(async (name: string, opts: { json?: boolean }) => {
      const server = serverOf(ctx);
      const status = await server.request<ToolServerDto>('POST', `/v1/tools/${encodeURIComponent(name)}/enable`, {});
      if (opts.json === true) return outJson(ctx, status);
      out(ctx, `Enabled ${what(name)} on ${server.url} (server state: ${status.state})`);
    });
}
