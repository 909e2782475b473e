/**
 * The metric families after real traffic, in one process opened as the CLI opens it
 * (`openAgentry` on an SQLite project: the scripted mock model behind the in-process gateway,
 * the fixture MCP server over stdio, a schedule ticking every second) and served by `buildApp`
 * with the process's one `Metrics` — and `docs/operations/metrics.md` is the catalogue of exactly
 * the `agentry_*` families that `/metrics` exposes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openAgentry, type Agentry } from '../../src/app/bootstrap.js';
import { loadConfig } from '../../src/app/config.js';
import { AgentryError } from '../../src/lib/errors.js';
import { VERSION } from '../../src/lib/version.js';
import { METRIC_NAMES } from '../../src/obs/metrics.js';
import { createLogger } from '../../src/obs/logger.js';
import { buildApp } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import type { RunRecord } from '../../src/types.js';
import { REPO, stdioFixtureTool, writeProject, type TempProject } from '../fixtures/agents/project.js';
import { claimOf, eventually } from '../helpers/engine.js';
import { startServer, type TestServer } from '../helpers/http-server.js';

const silent = createLogger({ level: 'silent' });
let project: TempProject;
let agentry: Agentry;
let app: FastifyInstance;
let hold: TestServer;
/** Answers of the requests the hold server keeps waiting. */
const held: Array<() => void> = [];

const GATEWAY = {
  version: 'v1',
  providers: { scripted: { type: 'mock', script: [{ reply: { content: 'done' } }] } },
  models: { mock: { targets: [{ provider: 'scripted', model: 'mock-1', input_per_mtok: 1, output_per_mtok: 2 }] } },
  budgets: { workflow_daily_usd: 100 },
};

const WORKFLOWS = [
  { name: 'one', steps: { a: { transform: 'done' } } },
  { name: 'chat', steps: { ask: { agent: 'helper', input: { q: 'hi' } } } },
  // A run budget of nothing: its first model call is refused before it is sent.
  { name: 'broke', budget: { max_cost_usd: 0 }, steps: { ask: { agent: 'helper' } } },
  {
    name: 'tools',
    steps: {
      echo: { tool: { server: 'fx', name: 'echo', args: { text: 'hello' } } },
      bad: { needs: ['echo'], tool: { server: 'fx', name: 'fail', args: { message: 'no' } }, retry: { max_attempts: 1 } },
    },
  },
  { name: 'flaky', steps: { call: { http: { url: 'http://127.0.0.1:1/nothing' }, retry: { max_attempts: 2, initial: '10ms', max: '10ms' } } } },
  { name: 'held', env: { HOLD_URL: { required: true } }, steps: { call: { http: { url: '{{ env.HOLD_URL }}/hold' }, timeout: '30s' } } },
  { name: 'ask', steps: { review: { human: { title: 'Look at this' } } } },
  { name: 'ticker', schedule: { cron: '* * * * * *' }, steps: { a: { transform: 1 } } },
];

async function scrape(): Promise<string> {
  const res = await app.inject({ url: '/metrics' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toContain('text/plain; version=0.0.4');
  return res.body;
}

/** The value of the series of `name` whose labels include `labels` (undefined when there is none). */
function value(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    const match = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const have = (match[2] ?? '').split(/,(?=[a-z_]+=")/);
    if (wanted.every((w) => have.includes(w))) return Number(match[3]);
  }
  return undefined;
}

async function runToEnd(workflow: string): Promise<RunRecord> {
  const started = await agentry.engine.startRun(workflow, {});
  return agentry.engine.waitForRun(started.id, { timeoutMs: 20_000, pollMs: 25 });
}

beforeAll(async () => {
  hold = await startServer((_req, res) => {
    held.push(() => res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end('{}'));
  });
  project = writeProject({
    gateway: GATEWAY,
    agents: [{ name: 'helper', model: 'mock', prompt: 'Answer.' }],
    tools: [stdioFixtureTool('fx')],
    workflows: WORKFLOWS,
  });
  const env = { AGENTRY_DATABASE_URL: `sqlite:${project.dbFile}`, AGENTRY_POLL_INTERVAL: '50ms', AGENTRY_LEASE_TTL: '2s', HOLD_URL: hold.url };
  const config = loadConfig({ flags: { projectDir: project.dir }, env, cwd: project.dir });
  agentry = await openAgentry(config, { logger: silent, env });
  // Before this process's pool starts: a worker claims a step and vanishes; its lease is expired.
  const run = await agentry.engine.startRun('one', {});
  const claim = await claimOf(agentry.engine.transitions.startStep(run.id, 'a', 'wrk_gone', Date.now() + 60_000));
  await agentry.engine.transitions.expireLease(claim!.key, true);
  await agentry.engine.start();
  // The fixture tool server's child process starts now, not inside a test (the leak guard's baseline).
  await agentry.tools!.listTools('fx');
  app = await buildApp({
    engine: agentry.engine,
    store: agentry.store,
    logger: silent,
    version: VERSION,
    auth: authSettings({ enabled: false, host: '127.0.0.1', apiKeys: undefined }),
    metrics: agentry.metrics,
    gateway: agentry.gateway,
    tools: agentry.tools,
    docs: false,
  });
  await agentry.engine.waitForRun(run.id, { timeoutMs: 10_000, pollMs: 25 });
}, 60_000);

afterAll(async () => {
  for (const answer of held.splice(0)) answer();
  await app?.close();
  await agentry?.close();
  await hold?.close();
  project?.remove();
});

describe('metrics after real traffic', { timeout: 60_000 }, () => {
  it('counts LLM attempts, tokens, cost and latency by model group and provider, and refusals by budget scope', async () => {
    expect((await runToEnd('chat')).status).toBe('succeeded');
    expect(await runToEnd('broke')).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
    const text = await scrape();
    const group = { model_group: 'mock', provider: 'scripted' };
    expect(value(text, 'agentry_llm_requests_total', { ...group, status: 'ok' })).toBe(1);
    expect(value(text, 'agentry_llm_requests_total', { ...group, status: 'refused' })).toBe(1);
    expect(value(text, 'agentry_llm_tokens_total', { ...group, type: 'input' })).toBeGreaterThan(0);
    expect(value(text, 'agentry_llm_tokens_total', { ...group, type: 'output' })).toBeGreaterThan(0);
    expect(value(text, 'agentry_llm_cost_usd_total', group)).toBeGreaterThan(0);
    expect(value(text, 'agentry_llm_request_duration_seconds_count', { ...group, status: 'ok' })).toBe(1);
    expect(value(text, 'agentry_gateway_added_latency_seconds_count', { model_group: 'mock' })).toBe(1);
    expect(value(text, 'agentry_llm_budget_refusals_total', { scope: 'run' })).toBe(1);
    // workflow_daily_usd applies to every workflow; the chat run spent a little of its $100.
    const used = value(text, 'agentry_llm_budget_used_ratio', { scope: 'workflow', budget: 'chat', period: 'day' });
    expect(used).toBeGreaterThan(0);
    expect(used).toBeLessThan(0.01);
    expect(value(text, 'agentry_llm_budget_used_ratio', { scope: 'workflow', budget: 'one', period: 'day' })).toBe(0);
  });

  it("counts tool calls by server and status, and shows each tool server's state", async () => {
    expect(await runToEnd('tools')).toMatchObject({ status: 'failed', error: { code: 'tool_error' } });
    const text = await scrape();
    expect(value(text, 'agentry_tool_calls_total', { server: 'fx', status: 'ok' })).toBe(1);
    expect(value(text, 'agentry_tool_calls_total', { server: 'fx', status: 'error' })).toBe(1);
    expect(value(text, 'agentry_tool_call_duration_seconds_count', { server: 'fx' })).toBe(2);
    expect(value(text, 'agentry_tool_server_up', { server: 'fx', state: 'connected' })).toBe(1);
    expect(value(text, 'agentry_tool_server_up', { server: 'fx', state: 'failed' })).toBe(0);
    expect(value(text, 'agentry_tool_server_restarts_total', { server: 'fx' })).toBe(0);
  });

  it('observes step attempts with their status, retries and lease expiries, from the committed events', async () => {
    expect(await runToEnd('flaky')).toMatchObject({ status: 'failed' });
    const text = await scrape();
    const step = (workflow: string, kind: string, status: string) => value(text, 'agentry_step_duration_seconds_count', { workflow, kind, status });
    expect(step('flaky', 'http', 'retried')).toBe(1);
    expect(step('flaky', 'http', 'failed')).toBe(1);
    expect(value(text, 'agentry_step_retries_total', { workflow: 'flaky', kind: 'http' })).toBe(1);
    // The step whose worker vanished: its lapsed attempt, then the one this process ran.
    expect(step('one', 'transform', 'lease_expired')).toBe(1);
    expect(step('one', 'transform', 'succeeded')).toBe(1);
    expect(value(text, 'agentry_lease_expiries_total', { workflow: 'one' })).toBe(1);
    expect(value(text, 'agentry_step_retries_total', { workflow: 'one', kind: 'transform' })).toBe(1);
    expect(value(text, 'agentry_runs_finished_total', { workflow: 'flaky', status: 'failed' })).toBe(1);
  });

  it('shows the attempts in flight by workflow up to the pool size, and 0 again once they are cancelled (OBS-05)', async () => {
    const runs = await Promise.all([1, 2, 3].map(() => agentry.engine.startRun('held', {})));
    await eventually(async () => (value(await scrape(), 'agentry_attempts_in_flight', { workflow: 'held' }) === 3 ? true : undefined), 10_000, '3 in flight');
    expect(value(await scrape(), 'agentry_worker_slots')).toBe(agentry.config.engine.concurrency);
    // Deployment gauges are cached for a second: wait for a read that sees them running.
    await eventually(async () => ((value(await scrape(), 'agentry_runs_active', { status: 'running' }) ?? 0) >= 3 ? true : undefined), 5_000, '3 running');
    for (const run of runs) await agentry.engine.cancelRun(run.id);
    await eventually(async () => (value(await scrape(), 'agentry_attempts_in_flight', { workflow: 'held' }) === 0 ? true : undefined), 10_000, '0 in flight');
    expect(value(await scrape(), 'agentry_step_duration_seconds_count', { workflow: 'held', kind: 'http', status: 'cancelled' })).toBe(3);
    for (const answer of held.splice(0)) answer();
  });

  it('reads tasks, runs, workers and the queue from the database at scrape time, and times store transactions', async () => {
    const run = await agentry.engine.startRun('ask', {});
    await eventually(async () => ((await agentry.engine.getRun(run.id)).status === 'waiting' ? true : undefined), 10_000, 'the task');
    // Read at most once a second: the first scrape may answer from the read before the task.
    const text = await eventually(
      async () => {
        const t = await scrape();
        return value(t, 'agentry_tasks_open') === 1 ? t : undefined;
      },
      5_000,
      'the open task',
    );
    expect(value(text, 'agentry_tasks_oldest_open_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(text, 'agentry_runs_active', { status: 'waiting' })).toBe(1);
    expect(value(text, 'agentry_workers_live')).toBe(1);
    expect(value(text, 'agentry_queue_depth')).toBeGreaterThanOrEqual(0);
    expect(value(text, 'agentry_queue_oldest_due_age_seconds')).toBeGreaterThanOrEqual(0);
    expect(value(text, 'agentry_task_events_total', { event: 'created' })).toBe(1);
    expect(value(text, 'agentry_store_transaction_duration_seconds_count', { outcome: 'committed' })).toBeGreaterThan(10);
    expect(value(text, 'agentry_store_transaction_errors_total')).toBe(0);
    await agentry.engine.cancelRun(run.id);
  });

  it('tells a transaction its caller rolled back from one that failed, and counts the failure', async () => {
    const run = await agentry.engine.startRun('one', {});
    const before = value(await scrape(), 'agentry_store_transaction_duration_seconds_count', { outcome: 'rolled_back' }) ?? 0;
    await expect(agentry.store.withRun(run.id, () => Promise.reject(new AgentryError('conflict', 'refused by the transition')))).rejects.toThrow('refused');
    await expect(agentry.store.withRun(run.id, () => Promise.reject(new Error('a bug')))).rejects.toThrow('a bug');
    const text = await scrape();
    expect(value(text, 'agentry_store_transaction_duration_seconds_count', { outcome: 'rolled_back' })).toBeGreaterThanOrEqual(before + 1);
    expect(value(text, 'agentry_store_transaction_duration_seconds_count', { outcome: 'failed' })).toBe(1);
    expect(value(text, 'agentry_store_transaction_errors_total')).toBe(1);
    // SQLite retries nothing (one writer); PostgreSQL retries transient errors (store.postgres tests).
    expect(value(text, 'agentry_store_transaction_retries_total')).toBe(0);
  });

  it('counts the ticks of a schedule its scheduler started', async () => {
    await eventually(
      async () => ((value(await scrape(), 'agentry_schedule_ticks_total', { schedule: 'ticker', outcome: 'started' }) ?? 0) >= 1 ? true : undefined),
      10_000,
      'a schedule tick',
    );
    expect(value(await scrape(), 'agentry_runs_started_total', { workflow: 'ticker' })).toBeGreaterThanOrEqual(1);
  });

  it("times a route's handler apart from the whole request (OBS-06)", async () => {
    for (let i = 0; i < 3; i++) expect((await app.inject({ url: '/v1/runs?limit=5' })).statusCode).toBe(200);
    const text = await scrape();
    const route = { method: 'GET', route: '/v1/runs' };
    expect(value(text, 'agentry_http_handler_duration_seconds_count', route)).toBe(3);
    expect(value(text, 'agentry_http_request_duration_seconds_count', { ...route, status_code: '200' })).toBe(3);
    const handler = value(text, 'agentry_http_handler_duration_seconds_sum', route)!;
    expect(handler).toBeGreaterThan(0);
    expect(handler).toBeLessThanOrEqual(value(text, 'agentry_http_request_duration_seconds_sum', { ...route, status_code: '200' })!);
  });
});

describe('docs/operations/metrics.md', () => {
  it('is the catalogue of exactly the agentry_* families /metrics exposes, with their types', async () => {
    const doc = readFileSync(join(REPO, 'docs', 'operations', 'metrics.md'), 'utf8');
    const documented = new Map([...doc.matchAll(/^\| `(agentry_[a-z_]+)` \| (counter|gauge|histogram) \|/gm)].map((m) => [m[1]!, m[2]!]));
    const text = await scrape();
    const live = new Map([...text.matchAll(/^# TYPE (agentry_\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
    expect([...documented].sort()).toEqual([...live].sort());
    expect([...live.keys()].sort()).toEqual([...METRIC_NAMES].sort());
    for (const name of ['process_resident_memory_bytes', 'process_cpu_user_seconds_total', 'nodejs_eventloop_lag_seconds']) expect(text).toContain(name);
  });
});
