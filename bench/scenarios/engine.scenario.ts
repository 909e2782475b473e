/**
 * Engine throughput and wake-up latency against graphile-worker, on the same PostgreSQL in
 * the same run, and the same Agentry cases on SQLite:
 *
 * - graphile-worker: N no-op jobs (bulk `addJobs`), drained by 1 and 3 worker processes;
 * - Agentry: N one-step runs (`transform`), and N/10 runs of a 10-step chain, by 1 and 3
 *   worker processes (each an `Engine` running the worker pool and scheduler sweeps, what
 *   `agentry start worker` runs); SQLite: one process.
 *
 * Each case gets a fresh database. Throughput: the backlog is enqueued first, the worker
 * processes start and connect, then all are told to go at once; the clock runs from the first
 * step (job) started to the moment the last run (job) is done, so process startup is not in it. Latency: with the workers idle, items are enqueued at
 * a fixed rate well below capacity (`PACED_*`) and enqueue→start is measured per item
 * (graphile-worker: a timestamp in the payload; Agentry: `step.queued` → `step.started` event
 * times, every step of a chain included). Statements per step are counted in the workers.
 *
 * BENCH_ENGINE_N (default 1000), BENCH_ENGINE_CONCURRENCY (per process, default 10),
 * BENCH_ENGINE_PACED / BENCH_ENGINE_PACED_PER_S (latency phase: items, rate; default 100 at 20/s),
 * BENCH_ENGINE_ONLY (a regex of case names), AGENTRY_TEST_DATABASE_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { makeWorkerUtils, runMigrations } from 'graphile-worker';
import pg from 'pg';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import { compileWorkflow } from '../../src/spec/index.js';
import { openStore } from '../../src/store/open.js';
import { createTestDatabase, dropTestDatabase, pgUrl, PG_ADMIN_URL } from '../../test/helpers/postgres.js';
import type { Scenario } from '../run.js';
import type { FromWorker, ToWorker } from './engine-worker.js';
import { BENCH_WORKFLOWS, CHAIN_LENGTH } from './engine-workflows.js';

const N = Number(process.env.BENCH_ENGINE_N ?? 1000);
const CONCURRENCY = Number(process.env.BENCH_ENGINE_CONCURRENCY ?? 10);
const PACED_ITEMS = Number(process.env.BENCH_ENGINE_PACED ?? 100);
const PACED_PER_S = Number(process.env.BENCH_ENGINE_PACED_PER_S ?? 20);
/** Runs only the cases whose name (`postgres/agentry/chain-10×3`) matches, e.g. `BENCH_ENGINE_ONLY=postgres`. */
const ONLY = new RegExp(process.env.BENCH_ENGINE_ONLY ?? '');
const REPO = join(import.meta.dirname, '..', '..');
const TERMINAL = `('succeeded', 'failed', 'cancelled', 'timed_out')`;

type System = 'agentry' | 'graphile';

interface WorkerProcess {
  child: ChildProcess;
  next<T extends FromWorker['type']>(type: T): Promise<Extract<FromWorker, { type: T }>>;
  send(message: ToWorker): void;
}

function spawnWorker(system: System, url: string): WorkerProcess {
  const child = fork(join(import.meta.dirname, 'engine-worker.ts'), [system, url, String(CONCURRENCY)], {
    cwd: REPO,
    // BENCH_CPU_PROF=<dir>: a V8 CPU profile of every worker process, written when it exits.
    execArgv: ['--import', 'tsx', ...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [])],
    env: { ...process.env, BENCH_COUNT_QUERIES: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox: FromWorker[] = [];
  const waiting: Array<() => void> = [];
  child.on('message', (message: FromWorker) => {
    inbox.push(message);
    for (const wake of waiting.splice(0)) wake();
  });
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`${system} worker exited (${code})`))));
  exited.catch(() => undefined);
  return {
    child,
    async next(type) {
      for (;;) {
        const at = inbox.findIndex((m) => m.type === type);
        if (at >= 0) return inbox.splice(at, 1)[0] as Extract<FromWorker, { type: typeof type }>;
        await Promise.race([new Promise<void>((resolve) => waiting.push(resolve)), exited]);
      }
    },
    send: (message) => child.send(message),
  };
}

/** Starts `count` workers, waits until all are connected, then tells all of them to go. */
async function startWorkers(system: System, url: string, count: number): Promise<WorkerProcess[]> {
  const workers = Array.from({ length: count }, () => spawnWorker(system, url));
  await Promise.all(workers.map((w) => w.next('ready')));
  for (const w of workers) w.send({ type: 'go' });
  return workers;
}

async function stopWorkers(workers: WorkerProcess[]): Promise<{ queries: number; cpuMs: number; latenciesMs: number[]; firstStartAt: number }> {
  for (const w of workers) w.send({ type: 'stop' });
  const stats = await Promise.all(workers.map((w) => w.next('stats')));
  await Promise.all(workers.map((w) => (w.child.exitCode === null ? new Promise((resolve) => w.child.once('exit', resolve)) : Promise.resolve())));
  return {
    queries: stats.reduce((n, s) => n + s.queries, 0),
    cpuMs: stats.reduce((n, s) => n + s.cpuMs, 0),
    latenciesMs: stats.flatMap((s) => s.latenciesMs),
    firstStartAt: Math.min(...stats.map((s) => s.firstStartAt ?? Infinity)),
  };
}

async function until(check: () => Promise<boolean>, timeoutMs = 180_000): Promise<number> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('case did not finish in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now();
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function latency(values: number[]): { p50_ms: number; p99_ms: number; samples: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50_ms: percentile(sorted, 50), p99_ms: percentile(sorted, 99), samples: sorted.length };
}

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

export interface EngineCase {
  store: 'postgres' | 'sqlite';
  system: System;
  workload: 'noop-job' | 'one-step' | 'chain-10';
  processes: number;
  concurrency_per_process: number;
  runs: number;
  steps: number;
  seconds: number;
  steps_per_s: number;
  statements_per_step: number;
  /** CPU time of the worker processes per step (drain and latency phases), in ms. */
  worker_cpu_ms_per_step: number;
  enqueue_to_start: { p50_ms: number; p99_ms: number; samples: number };
  load_average_1m: [before: number, after: number];
}

function report(c: EngineCase): EngineCase {
  const name = `${c.store}/${c.system}/${c.workload}`.padEnd(26);
  console.log(
    `  ${name} ×${c.processes}  ${String(c.steps_per_s).padStart(6)} steps/s  ${c.steps} steps in ${c.seconds}s  ` +
      `${c.statements_per_step} stmt/step  ${c.worker_cpu_ms_per_step} cpu ms/step  enqueue→start p50 ${c.enqueue_to_start.p50_ms} ms p99 ${c.enqueue_to_start.p99_ms} ms  load ${c.load_average_1m.join('→')}`,
  );
  return c;
}

async function pgQuery<T>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** An engine that only starts runs (no worker pool), as an API process would. */
function clientEngine(url: string): Engine {
  const executors = defaultExecutors();
  const availableKinds = createExecutorRegistry(executors).kinds();
  return new Engine({
    store: openStore(url, { poolSize: 10 }),
    workflows: new Map(BENCH_WORKFLOWS.map((spec) => [spec.name, compileWorkflow(spec, { availableKinds })])),
    executors: createExecutorRegistry(executors),
    executorSettings: DEFAULT_EXECUTOR_SETTINGS,
    logger: pino({ level: 'silent' }),
    env: {},
  });
}

async function startRuns(engine: Engine, workflow: string, count: number, parallel: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) {
        next++;
        await engine.startRun(workflow, {});
      }
    }),
  );
}

async function pacedRuns(engine: Engine, workflow: string, count: number, perSecond: number): Promise<string[]> {
  const ids: string[] = [];
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const wait = started + (i * 1000) / perSecond - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    ids.push((await engine.startRun(workflow, {})).id);
  }
  return ids;
}

const LATENCY_SQL = `SELECT s.at - q.at AS ms FROM events s
  JOIN events q ON q.run_id = s.run_id AND q.step_id = s.step_id AND q.type = 'step.queued'
  WHERE s.type = 'step.started'`;

function workload(workflow: string): { runs: number; stepsPerRun: number; paced: number; pacedPerS: number; label: EngineCase['workload'] } {
  return workflow === 'chain'
    ? {
        runs: Math.ceil(N / CHAIN_LENGTH),
        stepsPerRun: CHAIN_LENGTH,
        paced: Math.ceil(PACED_ITEMS / CHAIN_LENGTH),
        pacedPerS: PACED_PER_S / CHAIN_LENGTH,
        label: 'chain-10',
      }
    : { runs: N, stepsPerRun: 1, paced: PACED_ITEMS, pacedPerS: PACED_PER_S, label: 'one-step' };
}

async function agentryOnPostgres(workflow: string, processes: number): Promise<EngineCase> {
  const w = workload(workflow);
  const db = await createTestDatabase('agentry_bench_');
  const engine = clientEngine(db.url);
  try {
    await startRuns(engine, workflow, w.runs, 10);
    const before = loadavg()[0]!;
    const workers = await startWorkers('agentry', db.url, processes);
    await until(async () => (await pgQuery<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM runs WHERE status NOT IN ${TERMINAL}`))[0]!.n === 0);
    const [{ start, end }] = (await pgQuery(db.url, `SELECT (SELECT min(started_at) FROM steps) AS start, max(finished_at) AS end FROM runs`)) as [
      { start: number; end: number },
    ];
    const after = loadavg()[0]!;
    const ids = await pacedRuns(engine, workflow, w.paced, w.pacedPerS);
    await until(async () => (await pgQuery<{ n: number }>(db.url, `SELECT count(*)::int AS n FROM runs WHERE status NOT IN ${TERMINAL}`))[0]!.n === 0);
    const latencies = (await pgQuery<{ ms: number }>(db.url, `${LATENCY_SQL} AND s.run_id = ANY($1)`, [ids])).map((r) => Number(r.ms));
    const { queries, cpuMs } = await stopWorkers(workers);
    const steps = w.runs * w.stepsPerRun;
    const seconds = (end - start) / 1000;
    return report({
      store: 'postgres',
      system: 'agentry',
      workload: w.label,
      processes,
      concurrency_per_process: CONCURRENCY,
      runs: w.runs,
      steps,
      seconds: round(seconds, 2),
      steps_per_s: round(steps / seconds),
      statements_per_step: round(queries / (steps + w.paced * w.stepsPerRun), 1),
      worker_cpu_ms_per_step: round(cpuMs / (steps + w.paced * w.stepsPerRun), 2),
      enqueue_to_start: latency(latencies),
      load_average_1m: [round(before, 2), round(after, 2)],
    });
  } finally {
    await engine.store.close();
    await db.drop();
  }
}

async function graphileOnPostgres(processes: number): Promise<EngineCase> {
  const name = `agentry_bench_gw_${randomBytes(6).toString('hex')}`;
  await pgQuery(PG_ADMIN_URL, `CREATE DATABASE ${name}`);
  const url = pgUrl(name);
  const utils = await makeWorkerUtils({ connectionString: url });
  try {
    await runMigrations({ connectionString: url });
    await utils.addJobs(Array.from({ length: N }, () => ({ identifier: 'noop', payload: {} })));
    const remaining = async () => (await pgQuery<{ n: number }>(url, `SELECT count(*)::int AS n FROM graphile_worker.jobs`))[0]!.n;
    const before = loadavg()[0]!;
    const workers = await startWorkers('graphile', url, processes);
    const end = await until(async () => (await remaining()) === 0);
    const after = loadavg()[0]!;
    const started = Date.now();
    for (let i = 0; i < PACED_ITEMS; i++) {
      const wait = started + (i * 1000) / PACED_PER_S - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      await utils.addJob('noop', { t: Date.now() });
    }
    await until(async () => (await remaining()) === 0);
    const { queries, cpuMs, latenciesMs, firstStartAt } = await stopWorkers(workers);
    const seconds = (end - firstStartAt) / 1000;
    return report({
      store: 'postgres',
      system: 'graphile',
      workload: 'noop-job',
      processes,
      concurrency_per_process: CONCURRENCY,
      runs: N,
      steps: N,
      seconds: round(seconds, 2),
      steps_per_s: round(N / seconds),
      statements_per_step: round(queries / (N + PACED_ITEMS), 1),
      worker_cpu_ms_per_step: round(cpuMs / (N + PACED_ITEMS), 2),
      enqueue_to_start: latency(latenciesMs),
      load_average_1m: [round(before, 2), round(after, 2)],
    });
  } finally {
    await utils.release();
    await dropTestDatabase(name);
  }
}

/** SQLite: one process runs the engine and starts the paced runs itself (`agentry serve`). */
async function agentryOnSqlite(workflow: string): Promise<EngineCase> {
  const w = workload(workflow);
  const dir = mkdtempSync(join(tmpdir(), 'agentry-bench-'));
  const url = `sqlite:${join(dir, 'agentry.db')}`;
  try {
    const engine = clientEngine(url);
    await engine.store.migrate();
    await startRuns(engine, workflow, w.runs, 1);
    await engine.store.close();
    const db = new Database(join(dir, 'agentry.db'), { readonly: true });
    const unfinished = () => (db.prepare(`SELECT count(*) AS n FROM runs WHERE status NOT IN ${TERMINAL}`).get() as { n: number }).n;
    try {
      const before = loadavg()[0]!;
      const workers = await startWorkers('agentry', url, 1);
      await until(() => Promise.resolve(unfinished() === 0));
      const { start, end } = db.prepare(`SELECT (SELECT min(started_at) FROM steps) AS start, max(finished_at) AS end FROM runs`).get() as {
        start: number;
        end: number;
      };
      const after = loadavg()[0]!;
      workers[0]!.send({ type: 'pace', workflow, count: w.paced, perSecond: w.pacedPerS });
      const { runIds } = await workers[0]!.next('paced');
      await until(() => Promise.resolve(unfinished() === 0));
      const latencies = runIds.flatMap((id) => (db.prepare(`${LATENCY_SQL} AND s.run_id = ?`).all(id) as Array<{ ms: number }>).map((r) => r.ms));
      const { cpuMs } = await stopWorkers(workers);
      const steps = w.runs * w.stepsPerRun;
      const seconds = (end - start) / 1000;
      return report({
        store: 'sqlite',
        system: 'agentry',
        workload: w.label,
        processes: 1,
        concurrency_per_process: CONCURRENCY,
        runs: w.runs,
        steps,
        seconds: round(seconds, 2),
        steps_per_s: round(steps / seconds),
        statements_per_step: NaN, // better-sqlite3 is not counted; see the PostgreSQL cases
        worker_cpu_ms_per_step: round(cpuMs / (steps + w.paced * w.stepsPerRun), 2),
        enqueue_to_start: latency(latencies),
        load_average_1m: [round(before, 2), round(after, 2)],
      });
    } finally {
      db.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export const scenario: Scenario = {
  name: 'engine',
  description: `no-op steps/s and enqueue→start latency: Agentry vs graphile-worker on PostgreSQL (1 and 3 worker processes), Agentry on SQLite (N=${N}, concurrency ${CONCURRENCY} per process)`,
  async run() {
    const loadBefore = loadavg().map((x) => round(x, 2));
    const plan: Array<[string, () => Promise<EngineCase>]> = [];
    for (const processes of [1, 3]) {
      plan.push([`postgres/graphile/noop-job×${processes}`, () => graphileOnPostgres(processes)]);
      plan.push([`postgres/agentry/one-step×${processes}`, () => agentryOnPostgres('one', processes)]);
      plan.push([`postgres/agentry/chain-10×${processes}`, () => agentryOnPostgres('chain', processes)]);
    }
    plan.push(['sqlite/agentry/one-step×1', () => agentryOnSqlite('one')]);
    plan.push(['sqlite/agentry/chain-10×1', () => agentryOnSqlite('chain')]);
    const cases: EngineCase[] = [];
    for (const [name, run] of plan) if (ONLY.test(name)) cases.push(await run());
    const [version] = await pgQuery<{ v: string }>(PG_ADMIN_URL, `SELECT current_setting('server_version') AS v`);
    const find = (store: string, system: System, wl: string, p: number) =>
      cases.find((c) => c.store === store && c.system === system && c.workload === wl && c.processes === p);
    const ratios: Record<string, number> = {};
    for (const p of [1, 3]) {
      const anchor = find('postgres', 'graphile', 'noop-job', p)?.steps_per_s;
      for (const wl of ['one-step', 'chain-10']) {
        const ours = find('postgres', 'agentry', wl, p)?.steps_per_s;
        if (anchor && ours) ratios[`${wl} ×${p}`] = round(ours / anchor, 3);
      }
    }
    console.log(`  agentry steps/s ÷ graphile-worker jobs/s: ${JSON.stringify(ratios)}`);
    return {
      n: N,
      concurrency_per_process: CONCURRENCY,
      paced_latency: { items: PACED_ITEMS, per_s: PACED_PER_S, chain_runs_per_s: PACED_PER_S / CHAIN_LENGTH },
      machine: {
        cores: cpus().length,
        memory_gb: round(totalmem() / 2 ** 30, 1),
        load_average_before: loadBefore,
        load_average_after: loadavg().map((x) => round(x, 2)),
        postgres: version?.v,
      },
      anchor: 'graphile-worker 0.17.3 (default options: no local queue, no batched completion)',
      cases,
      agentry_to_graphile_ratio: ratios,
    };
  },
};
