/**
 * Every command that prints data takes `--json` (stdout then holds only JSON, in the API's
 * shape): a new command must say here whether it prints data, and one that does fails this
 * test until it takes `--json`. Also the `--json` of `tools disable|enable`, against a stand-in
 * for the server's tool routes.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ToolServerDto } from '../../src/app/dto/tools.js';
import { commandPath, commandTree, fullProgram } from '../../src/cli/reference.js';
import { runCliInProcess } from '../helpers/cli.js';

/** The commands that print data, each with what its `--json` prints. */
const PRINTS_DATA: Record<string, string> = {
  'agentry validate': '{ valid, dir, environment, workflows, diagnostics } (local only)',
  'agentry spec lint': '{ valid, dir, environment, workflows, diagnostics } (local only)',
  'agentry config secrets': 'GET /v1/security/credentials',
  'agentry profiles list': '{ path, current, items: [{ name, url, key, current }] } (local only; never a key)',
  'agentry run': 'Run (with --wait: RunDetail)',
  'agentry runs list': 'GET /v1/runs',
  'agentry runs get': 'GET /v1/runs/{id}',
  'agentry runs diff': 'GET /v1/runs/{a}/diff/{b}',
  'agentry runs checkpoints': 'GET /v1/runs/{id}/checkpoints (with --diff: GET /v1/runs/{id}/checkpoints/diff)',
  'agentry memory list': 'GET /v1/memory/threads',
  'agentry memory show': 'GET /v1/memory/threads/{thread}',
  'agentry memory clear': 'DELETE /v1/memory/threads/{thread} (with --older-than: DELETE /v1/memory/threads)',
  'agentry runs cancel': 'POST /v1/runs/{id}/cancel',
  'agentry runs retry': 'POST /v1/runs/{id}/retry',
  'agentry runs attempts': 'GET /v1/runs/{id}/steps/{step}/attempts',
  'agentry runs journal': 'GET /v1/runs/{id}/steps/{step}/journal',
  'agentry runs artifacts': 'GET /v1/runs/{id}/artifacts',
  'agentry runs events': 'GET /v1/runs/{id}/events (with --follow: one event per line)',
  'agentry events list': 'GET /v1/events',
  'agentry tasks list': 'GET /v1/tasks',
  'agentry tasks show': 'GET /v1/tasks/{id}',
  'agentry tasks approve': 'POST /v1/tasks/{id}/complete',
  'agentry tasks reject': 'POST /v1/tasks/{id}/complete',
  'agentry tasks submit': 'POST /v1/tasks/{id}/complete',
  'agentry signal': 'POST /v1/runs/{id}/signals/{name}',
  'agentry schedules list': 'GET /v1/schedules',
  'agentry schedules pause': 'POST /v1/schedules/{workflow}/pause',
  'agentry schedules resume': 'POST /v1/schedules/{workflow}/resume',
  'agentry tools list': 'GET /v1/tools',
  'agentry tools disable': 'POST /v1/tools/{name}/disable',
  'agentry tools enable': 'POST /v1/tools/{name}/enable',
  'agentry bundle build': '{ file, hash, files } (local only)',
  'agentry bundle sign': '{ file, hash, signer, key_id, approved_by, env } (local only)',
  'agentry bundle verify': '{ file, hash, files, signed, signer, key_id, verified, approved_by, env } (local only)',
  'agentry audit list': 'GET /v1/audit (with --jsonl: one entry per line)',
  'agentry usage calls': 'GET /v1/usage/calls',
  'agentry audit prune': '{ pruned, retention_ms } (local only)',
  'agentry prune': '{ runs, older_than_ms, statuses, workflow, dry_run } (local only)',
  'agentry migrate up': '{ location, from, current, latest, applied } (local only)',
  'agentry migrate status': '{ location, store, current, latest, state, pending, applied } (local only)',
  'agentry doctor': '{ status, checks: [{ id, title, status, detail, hint, docs }] } (local only)',
  'agentry workers list': 'GET /v1/admin/workers',
  'agentry workers drain': 'POST /v1/admin/workers/{id}/drain',
  'agentry maintenance on': 'PUT /v1/admin/maintenance',
  'agentry maintenance off': 'DELETE /v1/admin/maintenance',
  'agentry maintenance status': 'GET /v1/admin/maintenance',
  'agentry admin info': 'GET /v1/admin/info',
  'agentry admin sweep': 'POST /v1/admin/sweep',
  'agentry status': '{ source, healthy, services: [{ name, id, url, port, health, roles, detail }], status: GET /v1/admin/status, error }',
  'agentry logs': 'GET /v1/admin/logs: the record of each line, one JSON object per line (with -f: as they are written)',
  'agentry support-bundle': "{ out, files, failed, skipped } (local; --url adds the server's /metrics and /readyz)",
  'agentry backup create': '{ file, bytes, schema_version, created_at, source, tables, rows, encrypted, duration_ms, … } (local only)',
  'agentry backup verify': '{ ok, file, schema_version, created_at, source, tables, rows, … } or { ok: false, error } (local only)',
  'agentry db check': '{ store, kind, ok, checks } (local only)',
  'agentry db recover': '{ source, saved, out, tables, rows, lost, rejected, orphans_removed, schema_problems, integrity } (local only)',
  'agentry restore': '{ file, target, backup, schema, tables, rows, skipped, running_steps, dropped_tables, duration_ms } (local only)',
  'agentry credentials list': 'GET /v1/security/credentials',
  'agentry audit verify': '{ ok, checked, head_seq, pruned_through_seq, broken } (local only)',
  'agentry keys create': 'POST /v1/admin/keys: { key, secret }',
  'agentry keys list': 'GET /v1/admin/keys',
  'agentry limits show': 'GET /v1/admin/quotas',
  'agentry keys revoke': 'POST /v1/admin/keys/{id}/revoke: { revoked }',
  'agentry keys rotate': 'POST /v1/admin/keys/{id}/rotate: { key, secret, previous }',
  'agentry spec migrate': '{ file, from, to, changes: [{ rule, path, line, message }], diff, written } (local only)',
  'agentry config show': '{ <option>: { value, source, env } } (local only)',
  'agentry config validate': '{ env, dir, ok, problems: [{ check, severity, message }] } (local only)',
  'agentry smoke': '{ url, ok, duration_ms, checks: [{ name, status, detail, duration_ms, code }], summary }',
  'agentry plugins inspect': '{ manifest, package, resolved, integrity } (local only)',
  'agentry plugins install': '{ name, package, version, source, resolved, integrity, mode, permissions, … } or { restored } (local only)',
  'agentry plugins list': '{ items: [{ name, package, version, source, mode, state, path }] } (local only)',
  'agentry plugins doctor': '{ checks: [{ check, problem }] } (local only)',
  'agentry plugins disable': '{ name, package, version, state, disabled_reason, … } (local only)',
  'agentry plugins enable': '{ name, package, version, state, … } (local only)',
  'agentry dev start': '[{ name, description, health, pid, port, url, reason, startedAt, log }] (local only)',
  'agentry dev status': '[{ name, description, health, pid, port, url, reason, startedAt, log }] (local only)',
  'agentry dev restart': '[{ name, description, health, pid, port, url, reason, startedAt, log }] (local only)',
};

/** The commands that print no data, each with why. */
const PRINTS_NO_DATA: Record<string, string> = {
  'agentry init': 'creates files and prints the next steps',
  'agentry plugins update': 'shows old → new and the changelog, then asks (or --yes)',
  'agentry plugins uninstall': 'removes files and a lock entry',
  'agentry plugins link': 'records a lock entry, after showing the permissions',
  'agentry serve': 'serves until stopped; its banner is for people, logs are JSON on stderr',
  'agentry start worker': 'runs until stopped',
  'agentry start scheduler': 'runs until stopped',
  'agentry start api': 'serves until stopped',
  'agentry start gateway': 'serves until stopped',
  'agentry demo': 'an interactive tour that serves until Ctrl-C',
  'agentry login': 'prints one line: the profile saved, who the key is, whether it is current',
  'agentry profiles use': 'prints one line: the profile now current',
  'agentry profiles remove': 'prints one line: the profile removed',
  'agentry dev stop': 'prints one line per service: stopped (pid) or not running',
  'agentry dev logs': "prints the service's own log lines, which are JSON already",
  'agentry runs artifact': "prints the artifact's own bytes (GET /v1/runs/{id}/artifacts/{name}) or writes them to --output",
  'agentry audit export': 'prints nothing but JSON Lines already (GET /v1/audit/export): there is no human format to switch from',
};

/** Commands that run something (groups like `runs` only list their subcommands). */
function actionCommands(program: Command): Command[] {
  return commandTree(program).filter((command) => command !== program && command.commands.length === 0);
}

describe('--json on every command that prints data', () => {
  it('every command is listed as printing data or not', async () => {
    const paths = actionCommands(await fullProgram()).map(commandPath);
    const unlisted = paths.filter((path) => !(path in PRINTS_DATA) && !(path in PRINTS_NO_DATA));
    expect(unlisted, 'add each new command to PRINTS_DATA (and give it --json) or PRINTS_NO_DATA').toEqual([]);
    expect([...Object.keys(PRINTS_DATA), ...Object.keys(PRINTS_NO_DATA)].filter((path) => !paths.includes(path))).toEqual([]);
  });

  it('every command that prints data takes --json', async () => {
    const withoutJson = actionCommands(await fullProgram())
      .filter((command) => commandPath(command) in PRINTS_DATA)
      .filter((command) => !command.options.some((option) => option.long === '--json'))
      .map(commandPath);
    expect(withoutJson).toEqual([]);
  });
});

describe('agentry tools disable|enable --json', () => {
  const status: ToolServerDto = { name: 'fx', transport: 'stdio', state: 'disabled', tools: 2, restarts: 0, disabled_reason: 'wrong balances', tool_list: [] };
  const described: ToolServerDto = {
    ...status,
    state: 'connected',
    disabled_reason: undefined,
    tool_list: [
      {
        name: 'files/read',
        function_name: 'fx__files_read_0f1e2d3c',
        description: 'Reads a file',
        input_schema: { type: 'object' },
        require_approval: true,
        disabled: false,
      },
      { name: 'add', function_name: 'fx__add', require_approval: false, disabled: true, disabled_reason: 'adds wrong' },
    ],
  };
  const requests: Array<{ method: string; url: string; body: unknown }> = [];
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        requests.push({ method: request.method ?? '', url: request.url ?? '', body: JSON.parse(body || 'null') as unknown });
        const answer = request.url?.endsWith('/enable')
          ? { ...status, state: 'idle', disabled_reason: undefined }
          : request.url === '/v1/tools/fx'
            ? described
            : status;
        response.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end(JSON.stringify(answer));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('disable --json prints the tool server the API answered, and nothing else', async () => {
    const result = await runCliInProcess(['tools', 'disable', 'fx', '--reason', 'wrong balances', '--json'], { env: { AGENTRY_URL: url } });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(status);
    expect(requests.at(-1)).toEqual({ method: 'POST', url: '/v1/tools/fx/disable', body: { reason: 'wrong balances' } });
  });

  it("list --server shows the server's tools with their function names, approval and switch; --json the API answer", async () => {
    const human = await runCliInProcess(['tools', 'list', '--server', 'fx'], { env: { AGENTRY_URL: url } });
    expect(human.code, human.stderr).toBe(0);
    expect(human.stdout).toMatch(/fx \(stdio, connected\): 2 tools/);
    expect(human.stdout).toMatch(/files\/read\s+fx__files_read_0f1e2d3c\s+yes\s+enabled\s+Reads a file/);
    expect(human.stdout).toMatch(/add\s+fx__add\s+no\s+disabled\s+disabled: adds wrong/);
    const json = await runCliInProcess(['tools', 'list', '--server', 'fx', '--json'], { env: { AGENTRY_URL: url } });
    expect(JSON.parse(json.stdout)).toEqual(JSON.parse(JSON.stringify(described)));
    expect(requests.at(-1)).toEqual({ method: 'GET', url: '/v1/tools/fx', body: null });
  });

  it('enable --json prints the tool server the API answered, and nothing else', async () => {
    const result = await runCliInProcess(['tools', 'enable', 'fx', '--json'], { env: { AGENTRY_URL: url } });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ name: 'fx', transport: 'stdio', state: 'idle', tools: 2, restarts: 0, tool_list: [] });
    expect(requests.at(-1)).toEqual({ method: 'POST', url: '/v1/tools/fx/enable', body: {} });
  });
});
