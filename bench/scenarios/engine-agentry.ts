/**
 * The Agentry cases of the `engine` scenario: N one-step runs (`transform`), or N/10 runs of a
 * 10-step chain, drained by Agentry worker processes (engine-worker.ts) from a fresh store, with
 * or without `PARKED` runs waiting on timers and people in it (engine-parked.ts).
 *
 * The backlog: `STARTED` runs started through the engine (`engine.startRun`, 10 at once on
 * PostgreSQL; the rate is reported), copied row for row up to N (engine-clone.ts), as
 * graphile-worker's backlog is one bulk `addJobs`. PostgreSQL: the bench process starts the
 * latency phase's runs (an API process: wake-ups travel by `NOTIFY`). SQLite: one process; the
 * backlog is made before it opens the file, and the latency phase's runs are started by the
 * worker process itself (`agentry serve`'s shape).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Engine } from '../../src/engine/engine.js';
import type { RawDb } from '../../src/store/raw-db.js';
import { createTestDatabase } from '../../test/helpers/postgres.js';
import {
  CONCURRENCY,
  N,
  PACED_ITEMS,
  PACED_PER_S,
  clientEngine,
  latency,
  loadAverage,
  paced,
  round,
  startWorkers,
  stopWorkers,
  until,
  type EngineCase,
} from './engine-common.js';
import { cloneRuns, openRaw } from './engine-clone.js';
import { backendCpuMs, sampleBackends } from './engine-db-cpu.js';
import { parkRuns } from './engine-parked.js';
import { CHAIN_LENGTH } from './engine-workflows.js';

interface Workload {
  workflow: 'one' | 'chain';
  runs: number;
  stepsPerRun: number;
  paced: number;
  pacedPerS: number;
  label: EngineCase['workload'];
}

function workload(workflow: 'one' | 'chain'): Workload {
  return workflow === 'chain'
    ? {
        workflow,
        runs: Math.ceil(N / CHAIN_LENGTH),
        stepsPerRun: CHAIN_LENGTH,
        paced: Math.ceil(PACED_ITEMS / CHAIN_LENGTH),
        pacedPerS: PACED_PER_S / CHAIN_LENGTH,
        label: 'chain-10',
      }
    : { workflow, runs: N, stepsPerRun: 1, paced: PACED_ITEMS, pacedPerS: PACED_PER_S, label: 'one-step' };
}

/** Runs of the backlog started through the engine (the rate they start at is reported); the rest are copies of them. */
const STARTED = 200;

async function startRuns(engine: Engine, workflow: string, count: number, parallel: number): Promise<string[]> {
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (ids.length < count) {
        ids.push('');
        const at = ids.length - 1;
        ids[at] = (await engine.startRun(workflow, {})).id;
      }
    }),
  );
  return ids;
}

/** A fresh, migrated store: a database on the test server, or an SQLite file in a temporary folder. */
async function freshStore(store: EngineCase['store'], prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (store === 'postgres') return createTestDatabase(prefix);
  const dir = mkdtempSync(join(tmpdir(), 'agentry-bench-'));
  const url = `sqlite:${join(dir, 'agentry.db')}`;
  const engine = clientEngine(url);
  await engine.store.migrate();
  await engine.store.close();
  return { url, drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
}

// Cheap while parked runs fill the store: the `runs_active` index, and only its queued and running entries.
const BUSY_SQL = `SELECT 1 FROM runs WHERE status IN ('queued', 'running') LIMIT 1`;
const LATENCY_SQL = `SELECT s.at - q.at AS ms FROM events s
  JOIN events q ON q.run_id = s.run_id AND q.step_id = s.step_id AND q.type = 'step.queued'
  WHERE s.type = 'step.started'`;

/** `prefix`: of the PostgreSQL database's name (another bench's own, so that it can tell its databases apart). */
export async function agentryCase(
  store: EngineCase['store'],
  workflow: 'one' | 'chain',
  processes: number,
  parked = 0,
  prefix = 'agentry_bench_',
): Promise<EngineCase> {
  const before = loadAverage();
  const w = workload(workflow);
  const fresh = await freshStore(store, prefix);
  let engine: Engine | undefined;
  let db: RawDb | undefined;
  try {
    const parkedRuns = parked > 0 ? await parkRuns(fresh.url, parked) : 0;
    engine = clientEngine(fresh.url);
    const enqueueStart = performance.now();
    const started = await startRuns(engine, workflow, Math.min(STARTED, w.runs), store === 'postgres' ? 10 : 1);
    const enqueueSeconds = (performance.now() - enqueueStart) / 1000;
    if (store === 'sqlite') {
      await engine.store.close();
      engine = undefined;
    }
    db = await openRaw(fresh.url);
    const copies = Math.max(0, Math.round(w.runs / started.length) - 1);
    await cloneRuns(db, started, copies);
    const runs = started.length * (copies + 1);
    // Planner statistics as autovacuum would have them by now (the graphile-worker cases do the same).
    if (store === 'postgres') await db.run('ANALYZE');
    const idle = async () => (await db!.rows(BUSY_SQL)).length === 0;
    const backends = (text: string) => db!.rows(text);
    const cpuBefore = store === 'postgres' ? await sampleBackends(backends) : null;
    const workers = await startWorkers('agentry', fresh.url, processes);
    await until(idle);
    const dbCpuMs = store === 'postgres' ? backendCpuMs(cpuBefore, await sampleBackends(backends)) : null;
    const after = loadAverage();
    const [[start, finish]] = (await db.rows(
      `SELECT (SELECT min(s.started_at) FROM steps s JOIN runs r ON r.id = s.run_id WHERE r.workflow = ${db.param(1)}),
              (SELECT max(finished_at) FROM runs WHERE workflow = ${db.param(2)})`,
      [workflow, workflow],
    )) as [[number, number]];
    let ids: string[];
    if (engine) {
      const client = engine;
      ids = (await paced(w.paced, w.pacedPerS, () => client.startRun(workflow, {}))).map((run) => run.id);
    } else {
      workers[0]!.send({ type: 'pace', workflow, count: w.paced, perSecond: w.pacedPerS });
      ids = (await workers[0]!.next('paced')).runIds;
    }
    await until(idle);
    const latencies = (await db.rows(`${LATENCY_SQL} AND s.run_id IN (${ids.map((id) => `'${id}'`).join(', ')})`)).map((r) => Number(r[0]));
    const { queries, cpuMs } = await stopWorkers(workers);
    const steps = runs * w.stepsPerRun;
    const allSteps = steps + w.paced * w.stepsPerRun;
    const seconds = (Number(finish) - Number(start)) / 1000;
    return {
      store,
      system: 'agentry',
      workload: w.label,
      parked_runs: parkedRuns,
      processes,
      concurrency_per_process: CONCURRENCY,
      runs,
      steps,
      seconds: round(seconds, 2),
      steps_per_s: round(steps / seconds),
      // better-sqlite3 is not counted; see the PostgreSQL cases.
      statements_per_step: store === 'postgres' ? round(queries / allSteps, 1) : null,
      worker_cpu_ms_per_step: round(cpuMs / allSteps, 2),
      db_cpu_ms_per_step: dbCpuMs === null ? null : round(dbCpuMs / steps, 2),
      enqueue_to_start: latency(latencies),
      enqueue_runs_per_s: round(started.length / enqueueSeconds),
      load_average: { before, after },
    };
  } finally {
    await engine?.store.close();
    await db?.close();
    await fresh.drop();
  }
}
