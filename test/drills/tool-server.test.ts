/**
 * Drill of docs/operations/runbooks/tool-server.md with the MCP fixture server over stdio: a call
 * hangs past the server's timeout (`tool_timeout`); a call crashes the server process until its
 * restart budget is used up, so every other call fails `tool_unavailable`. The page's commands
 * show both; its disable command makes calls fail fast with `tool_disabled`; its enable command
 * brings the server back, and its retry command brings the runs that failed on it to `succeeded`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetailDto } from '../../src/cli/remote.js';
import { killAll, REPO, removeDir, tempDir } from '../helpers/cli.js';
import { KEYS } from '../helpers/server.js';
import { apiCall, drillProject, type DrillServer, pageCommand, runPageCommand, startDrillServer, waitForRunEnd } from '../helpers/runbook.js';

const PAGE = 'tool-server';

let project: string;
let data: string;
let server: DrillServer;
let env: Record<string, string>;

beforeAll(async () => {
  project = drillProject({
    'tools/fx.yaml': `version: v1
name: fx
command: ${process.execPath}
args: [--import, tsx, ${join(REPO, 'test/fixtures/mcp/server.ts')}, --stdio]
timeout: 2s
restart: { max_restarts: 1, window: 10m, backoff: { initial: 50ms, max: 100ms } }
`,
    'workflows/crashy.yaml': 'version: v1\nname: crashy\nsteps:\n  boom: { tool: { server: fx, name: crash } }\n',
    'workflows/hang.yaml': 'version: v1\nname: hang\nsteps:\n  wait: { tool: { server: fx, name: slow, args: { ms: 60000 } } }\n',
    'workflows/lookup.yaml': 'version: v1\nname: lookup\nsteps:\n  call: { tool: { server: fx, name: echo, args: { text: hi } } }\n',
  });
  data = tempDir();
  server = await startDrillServer(project);
  env = { AGENTRY_URL: server.url, AGENTRY_API_KEY: KEYS.operator };
}, 60_000);

afterAll(async () => {
  await server?.stop();
  await killAll();
  removeDir(project);
  removeDir(data);
});

const api = <T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> => apiCall<T>(server.url, KEYS.operator, method, path, body);

const run = (workflow: string): Promise<RunDetailDto> => api<RunDetailDto>('POST', `/v1/workflows/${workflow}/runs?wait=30s`, { input: {} });
const page = (start: string, vars: Record<string, string> = {}) => runPageCommand(pageCommand(PAGE, start), vars, { env });

describe('tool server drill', { timeout: 180_000 }, () => {
  const lookupsFailed: string[] = [];

  it('a hanging call fails tool_timeout, and the page shows it', async () => {
    const hung = await run('hang');
    expect(hung).toMatchObject({ status: 'failed', error: { code: 'tool_timeout' } });
    const detail = await page('agentry runs get', { 'run-id': hung.id });
    expect(detail.code, detail.stderr).toBe(0);
    expect(detail.stdout).toContain('[tool_timeout] tool fx.slow timed out after 2000ms');
  });

  it('a crashing server uses up its restart budget; the page shows the failed server, its calls and its logs', async () => {
    for (const attempt of [1, 2]) expect((await run('crashy')).error, `crash ${attempt}`).toMatchObject({ code: 'tool_unavailable' });
    const lookup = await run('lookup');
    expect(lookup.error).toMatchObject({ code: 'tool_unavailable', message: expect.stringContaining('restart budget used up') });
    lookupsFailed.push(lookup.id);

    const logFile = join(data, 'agentry.log');
    writeFileSync(logFile, server.proc.stderr);
    const [tools, readyz, metrics, detail, logs] = await Promise.all([
      page('agentry tools list'),
      page('curl -s -H "Authorization: Bearer $AGENTRY_API_KEY" "$AGENTRY_URL/readyz"'),
      page('curl -s -H "Authorization: Bearer $AGENTRY_API_KEY" "$AGENTRY_URL/metrics"'),
      page('agentry runs get', { 'run-id': lookup.id }),
      page("jq -c 'select(.event != null", { 'log-file': logFile }),
    ]);
    expect(tools.code, tools.stderr).toBe(0);
    expect(tools.stdout).toMatch(/fx +stdio +failed +\d+ +1 +restart budget used up \(1 restarts within 600000ms\); last error: the server process exited/);
    expect(JSON.parse(readyz.stdout)).toEqual({ status: 'fail', detail: 'every tool server failed (1 server: 1 failed)' });
    expect(metrics.stdout).toContain('agentry_tool_server_up{server="fx",state="failed"} 1');
    expect(metrics.stdout).toContain('agentry_tool_server_restarts_total{server="fx"} 1');
    expect(detail.stdout).toContain("[tool_unavailable] tool server 'fx' failed again and has its restart budget used up");
    const events = logs.stdout
      .trim()
      .split('\n')
      .map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events).toEqual(expect.arrayContaining(['tool_server.lost', 'tool_server.restarting', 'tool_server.failed']));
  });

  it('the page disables the server: its calls fail fast with tool_disabled', async () => {
    expect(lookupsFailed, 'the previous test ran').toHaveLength(1);
    const disabled = await page('agentry tools disable', { server: 'fx' });
    expect(disabled.code, disabled.stderr).toBe(0);
    const lookup = await run('lookup');
    expect(lookup.error).toMatchObject({
      code: 'tool_disabled',
      message: "tool server 'fx' is disabled: crashes on every call, INC-231 (enable it with agentry tools enable fx)",
    });
    lookupsFailed.push(lookup.id);
    const tools = await page('agentry tools list');
    expect(tools.stdout).toMatch(/fx +stdio +disabled/);
  });

  it('the page enables it again and retries the runs that failed on it to success', async () => {
    expect(lookupsFailed, 'the previous tests ran').toHaveLength(2);
    const enabled = await page('agentry tools enable', { server: 'fx' });
    expect(enabled.code, enabled.stderr).toBe(0);
    const retried = await page('agentry runs list --status failed --workflow', { workflow: 'lookup' });
    expect(retried.code, retried.stderr).toBe(0);
    const ids = lookupsFailed.map((id) => new RegExp(`Retried run ${id} as run (run_\\w+)`).exec(retried.stdout)?.[1]);
    expect(
      ids.every((id) => id !== undefined),
      retried.stdout,
    ).toBe(true);
    for (const id of ids) {
      const rerun = await waitForRunEnd<RunDetailDto>(server.url, id!, KEYS.operator);
      expect(rerun).toMatchObject({ status: 'succeeded', output: { call: { content: [{ type: 'text', text: 'hi' }] } } });
    }
    const [tools, runs] = await Promise.all([page('agentry tools list'), page('agentry runs list --limit 10')]);
    expect(tools.stdout).toMatch(/fx +stdio +connected/);
    for (const id of ids) expect(runs.stdout).toMatch(new RegExp(`${id} +lookup +✓ succeeded`));
  });
});
