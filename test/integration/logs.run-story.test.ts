/**
 * Logs that tell a run's story (docs/operations/logging.md): a line for every ending that is
 * not a success (failed, retried, timed out, cancelled, lease expired) with the run, step,
 * attempt, workflow, tenant and error code; `run started` inside the request that started it,
 * so one line has both `request_id` and `run_id`; budget refusals and tool server restarts;
 * and no line, of API, worker, scheduler, gateway or tool hub, with a key written twice.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs, duplicateKeys, type LogLine } from '../helpers/log-capture.js';
import { eventually, startTestEngine } from '../helpers/engine.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { fixtureToolSpec, listen, MOCK_GATEWAY, REPO_ROOT, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';
import { sqliteFactory } from '../helpers/store.js';
import { createToolHub } from '../../src/tools/hub.js';

const HIDDEN = 'hidden-query-value-0123';

const logs = captureLogs('debug');
let upstream: TestServer;
let api: TestApi;
let base: string;

const withEvent = (event: string, runId?: string): LogLine[] => logs.lines.filter((l) => l.event === event && (runId === undefined || l.run_id === runId));
const waitForLine = (what: string, match: (line: LogLine) => boolean): Promise<LogLine> =>
  eventually(() => Promise.resolve(logs.lines.find(match)), 10_000, what);

beforeAll(async () => {
  // A service that is always down: every call fails `http_status` (retryable).
  upstream = await startServer((_req, res) => json(res, 503, { error: 'down' }, { connection: 'close' }));
  api = await startTestApi({
    logger: logs.logger,
    gateway: { ...MOCK_GATEWAY, budgets: { tenant_daily_tokens: 1 } },
    workflows: [
      ...WORKFLOWS,
      { name: 'flaky', steps: { call: { http: { url: `${upstream.url}/status?token=${HIDDEN}` }, retry: { max_attempts: 2, initial: '10ms' } } } },
      { name: 'late', deadline: '200ms', steps: { long: { sleep: '1h' } } },
    ],
  });
  base = await listen(api.app);
});
afterAll(async () => {
  await api.close();
  await upstream.close();
});

async function post(path: string, body: unknown, requestId: string): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { ...api.auth('admin'), connection: 'close', 'content-type': 'application/json', 'x-request-id': requestId },
    body: JSON.stringify(body),
  });
}

/** POSTs with the body sent a moment after the headers: it is read in the socket's context, not the request's. */
function postSlowly(path: string, body: unknown, requestId: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${base}${path}`, {
      method: 'POST',
      headers: { ...api.auth('admin'), connection: 'close', 'content-type': 'application/json', 'x-request-id': requestId },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on('error', reject);
    req.flushHeaders();
    setTimeout(() => req.end(JSON.stringify(body)), 50);
  });
}

describe('the run story in the log', () => {
  it('POST /v1/workflows/{name}/runs over HTTP: `run started` has the request_id and the run_id; the run ends with `run succeeded`', async () => {
    const res = await post('/v1/workflows/hello/runs?wait=10s', { input: { name: 'Ada' } }, 'story-start');
    const run = (await res.json()) as { id: string; status: string };
    expect(run.status).toBe('succeeded');
    expect(withEvent('run.created', run.id)).toEqual([
      expect.objectContaining({
        level: 'info',
        msg: 'run started',
        request_id: 'story-start',
        run_id: run.id,
        workflow: 'hello',
        tenant_id: 'default',
        created_by: 'admin',
      }),
    ]);
    expect(withEvent('run.succeeded', run.id)).toEqual([
      expect.objectContaining({ level: 'info', msg: 'run succeeded', run_id: run.id, workflow: 'hello', tenant_id: 'default', status: 'succeeded' }),
    ]);
  });

  it('a body that arrives after the headers does not lose the request_id', async () => {
    const res = await postSlowly('/v1/workflows/hello/runs', { input: { name: 'Grace' } }, 'story-slow');
    const run = JSON.parse(res.body) as { id: string };
    expect(res.status).toBe(201);
    expect(withEvent('run.created', run.id)).toEqual([expect.objectContaining({ request_id: 'story-slow', tenant_id: 'default' })]);
  });

  it('a failing step: a warn line for the retried attempt, then error lines for the step and the run, with the fields and no secret', async () => {
    const res = await post('/v1/workflows/flaky/runs?wait=10s', {}, 'story-flaky');
    const run = (await res.json()) as { id: string; status: string };
    expect(run.status).toBe('failed');
    const where = { run_id: run.id, workflow: 'flaky', tenant_id: 'default', step_id: 'call' };
    expect(withEvent('step.retry_scheduled', run.id)).toEqual([
      expect.objectContaining({ ...where, level: 'warn', attempt: 1, next_attempt: 2, code: 'http_status', retry_at: expect.any(String) as unknown }),
    ]);
    expect(withEvent('step.failed', run.id)).toEqual([
      expect.objectContaining({
        ...where,
        level: 'error',
        msg: 'step failed',
        attempt: 2,
        code: 'http_status',
        message: expect.stringContaining('503') as unknown,
      }),
    ]);
    expect(withEvent('run.failed', run.id)).toEqual([
      expect.objectContaining({
        ...where,
        level: 'error',
        msg: 'run failed',
        status: 'failed',
        attempt: 2,
        code: 'http_status',
        duration_ms: expect.any(Number) as unknown,
      }),
    ]);
    // The worker's own lines of an attempt (the http executor's) name the run, step, attempt, workflow and tenant.
    expect(logs.lines.filter((l) => l.msg === 'http step response' && l.run_id === run.id)).toEqual([
      expect.objectContaining({ ...where, attempt: 1 }),
      expect.objectContaining({ ...where, attempt: 2 }),
    ]);
    expect(logs.raw.join('\n')).not.toContain(HIDDEN);
  });

  it('a run past its deadline: an error line `run timed out` naming the steps its end cancelled', async () => {
    const run = await api.engine.startRun('late', {});
    const line = await waitForLine('run timed out', (l) => l.event === 'run.timed_out' && l.run_id === run.id);
    expect(line).toMatchObject({
      level: 'error',
      workflow: 'late',
      tenant_id: 'default',
      status: 'timed_out',
      code: 'run_timed_out',
      cancelled_steps: ['long'],
    });
  });

  it('a run cancelled over the API: a warn line with the request_id of the cancel', async () => {
    const started = (await (await post('/v1/workflows/nap/runs', {}, 'story-nap')).json()) as { id: string };
    expect((await post(`/v1/runs/${started.id}/cancel`, { reason: 'no longer needed' }, 'story-cancel')).status).toBe(200);
    expect(withEvent('run.cancelled', started.id)).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'run cancelled',
        request_id: 'story-cancel',
        run_id: started.id,
        workflow: 'nap',
        tenant_id: 'default',
        code: 'cancelled',
        message: 'no longer needed',
        cancelled_steps: ['long'],
      }),
    ]);
  });

  it('a budget refusal: a warn line naming the budget, inside the request that asked', async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { ...api.auth('service'), connection: 'close', 'content-type': 'application/json', 'x-request-id': 'story-budget' },
      body: JSON.stringify({ model: 'demo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
    });
    expect(res.status).toBe(402);
    expect(withEvent('budget.refused')).toEqual([
      expect.objectContaining({
        level: 'warn',
        request_id: 'story-budget',
        tenant_id: 'default',
        code: 'budget_exceeded',
        group: 'demo',
        scope: 'tenant',
        period: 'day',
        metric: 'tokens',
        limit: 1,
      }),
    ]);
  });

  it('a tool server that crashes: lost, restarting, reconnected, then failed once its restart budget is used up', async () => {
    const spec = { ...fixtureToolSpec(), restart: { max_restarts: 1, window: '10m', backoff: { initial: '10ms', max: '50ms' } } };
    const tools = createToolHub({ specs: new Map([[spec.name, spec]]), env: {}, projectDir: REPO_ROOT, logger: logs.logger });
    try {
      await tools.callTool('fx', 'echo', { text: 'hi' });
      const [connected] = withEvent('tool_server.connected');
      expect(connected).toMatchObject({ level: 'info', server: 'fx', transport: 'stdio', server_pid: expect.any(Number) as unknown });
      expect(connected!.server_pid).not.toBe(connected!.pid);
      await expect(tools.callTool('fx', 'crash')).rejects.toMatchObject({ code: 'tool_unavailable' });
      await tools.callTool('fx', 'echo', { text: 'again' });
      expect(withEvent('tool_server.lost')).toMatchObject([{ level: 'warn', server: 'fx', message: expect.stringContaining('exited') as unknown }]);
      expect(withEvent('tool_server.restarting')).toMatchObject([{ level: 'warn', server: 'fx', restarts: 1 }]);
      expect(withEvent('tool_server.reconnected')).toMatchObject([{ level: 'info', server: 'fx', restarts: 1, server_pid: expect.any(Number) as unknown }]);
      await expect(tools.callTool('fx', 'crash')).rejects.toMatchObject({ code: 'tool_unavailable' });
      await expect(tools.callTool('fx', 'echo', { text: 'no more' })).rejects.toMatchObject({ code: 'tool_unavailable' });
      expect(withEvent('tool_server.failed')).toMatchObject([
        { level: 'error', server: 'fx', restarts: 1, message: expect.stringContaining('restart budget') as unknown },
      ]);
    } finally {
      await tools.close();
    }
  });

  it('a lease that lapsed: the scheduler that expired it logs a warn line naming the worker that lost it, and the retry', async () => {
    const t = await startTestEngine(sqliteFactory, [{ name: 'one', steps: { a: { transform: 'done' } } }], { start: false, logger: logs.logger });
    try {
      const run = await t.engine.startRun('one', {});
      const claim = await t.engine.transitions.startStep(run.id, 'a', 'wrk_gone', Date.now() + 50);
      expect(claim).toBeTruthy();
      await t.engine.start({ roles: ['scheduler'] });
      const line = await waitForLine('step lease expired', (l) => l.event === 'step.lease_expired' && l.run_id === run.id);
      expect(line).toMatchObject({ level: 'warn', step_id: 'a', attempt: 1, worker: 'wrk_gone', workflow: 'one', tenant_id: 'default' });
      expect(withEvent('step.retry_scheduled', run.id)).toEqual([
        expect.objectContaining({ level: 'warn', step_id: 'a', attempt: 1, next_attempt: 2, code: 'lease_expired' }),
      ]);
    } finally {
      await t.cleanup();
    }
  });

  it('no line of all the above has a key twice (the scanner itself finds one)', () => {
    expect(duplicateKeys('{"a":1,"b":{"a":2,"c":[{"a":3}]},"a":4}')).toEqual(['a']);
    expect(duplicateKeys('{"k":"a,\\"k\\":1","n":[1,"k"]}')).toEqual([]);
    // API, worker, scheduler, gateway and tool hub all wrote here.
    expect(logs.raw.length).toBeGreaterThan(20);
    const twice = logs.raw.map((line) => ({ line, keys: duplicateKeys(line) })).filter((l) => l.keys.length > 0);
    expect(twice).toEqual([]);
  });
});
