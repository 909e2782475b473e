/**
 * `agentry tools list|disable <name> --reason <text>|enable <name>`: the MCP tool servers of a
 * running server. Tool state (connections, the disable switch) lives in the server process, so
 * these commands always go through its API (`AGENTRY_URL` + `AGENTRY_API_KEY`). `--json` prints
 * what the API returns (`list`: its `items` array).
 */
import type { Command } from 'commander';
import { AgentryError } from '../../lib/errors.js';
import type { ToolServerDto } from '../../app/dto/tools.js';
import { RemoteClient } from '../remote.js';
import { configFrom, out, outJson, outStyle, type CliContext } from '../context.js';
import { paint, table } from '../format.js';

/** The server from `AGENTRY_URL`; exit 2 without one (there is no local tool state to act on). */
function serverOf(ctx: CliContext): RemoteClient {
  const config = configFrom(ctx, {});
  if (config.client.url === undefined) {
    throw new AgentryError(
      'invalid_request',
      'tool state lives in the running server (each server process holds its own): set AGENTRY_URL to its address (and AGENTRY_API_KEY to a key with tools:read / tools:write)',
    );
  }
  return new RemoteClient({ url: config.client.url, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
}

function describe(status: ToolServerDto): string {
  if (status.disabled_reason !== undefined) return `disabled: ${status.disabled_reason}`;
  return status.last_error ?? '';
}

export function registerTools(program: Command, ctx: CliContext): void {
  const tools = program
    .command('tools')
    .description('MCP tool servers of the running server (AGENTRY_URL): list, disable, enable')
    .addHelpText(
      'after',
      `
Tool state lives in the server process; these commands call its API (AGENTRY_URL, AGENTRY_API_KEY).
With several API or worker processes, each holds its own state: disable on each one. See docs/tools.md.`,
    );

  tools
    .command('list')
    .description('List the tool servers with their state')
    .option('--json', 'print the API answer as JSON')
    .action(async (opts: { json?: boolean }) => {
      const server = serverOf(ctx);
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
    .description('Disable a tool server: its calls fail fast with tool_disabled until enabled')
    .argument('<name>', 'tool server name')
    .requiredOption('--reason <text>', 'why (shown in the tool_disabled errors)')
    .option('--json', 'print the tool server as POST /v1/tools/{name}/disable does')
    .action(async (name: string, opts: { reason: string; json?: boolean }) => {
      const server = serverOf(ctx);
      const status = await server.request<ToolServerDto>('POST', `/v1/tools/${encodeURIComponent(name)}/disable`, { reason: opts.reason });
      if (opts.json === true) return outJson(ctx, status);
      out(ctx, `Disabled tool server ${status.name} on ${server.url}: ${status.disabled_reason ?? opts.reason}`);
    });

  tools
    .command('enable')
    .description('Enable a disabled tool server (also resets a used-up restart budget)')
    .argument('<name>', 'tool server name')
    .option('--json', 'print the tool server as POST /v1/tools/{name}/enable does')
    .action(async (name: string, opts: { json?: boolean }) => {
      const server = serverOf(ctx);
      const status = await server.request<ToolServerDto>('POST', `/v1/tools/${encodeURIComponent(name)}/enable`, {});
      if (opts.json === true) return outJson(ctx, status);
      out(ctx, `Enabled tool server ${status.name} on ${server.url} (state: ${status.state})`);
    });
}
