/**
 * Engine throughput and wake-up latency against anchors in the same run:
 *
 * - PostgreSQL: graphile-worker 0.17.3 draining N no-op jobs, with its default options and with
 *   its batching on (local queue + batched completion), by 1 and 3 worker processes
 *   (engine-graphile.ts); Agentry: N one-step runs (`transform`) and N/10 runs of a 10-step
 *   chain, by 1 and 3 worker processes, each an `Engine` running the worker pool and scheduler
 *   sweeps, what `agentry start worker` runs (engine-agentry.ts).
 * - SQLite, one process: a raw claim + complete loop on a WAL file (engine-sqlite-raw.ts), and
 *   the same Agentry cases.
 * - Waiting runs: Agentry's one-step case (PostgreSQL and SQLite, one process) again with
 *   PARKED runs waiting on timers and people in the store (engine-parked.ts), reported as a
 *   ratio to the same case without them, run right after it.
 *
 * Each case gets a fresh database. Throughput: the backlog is enqueued first, the worker
 * processes start and connect, then all are told to go at once; the clock runs from the first
 * step (job) started to the moment the last run (job) is done, so process startup is not in it.
 * Latency: with the workers idle, items are enqueued at a fixed rate well below capacity
 * (`PACED_*`) and enqueue→start is measured per item (graphile-worker: a timestamp in the
 * payload; Agentry: `step.queued` → `step.started` event times, every step of a chain
 * included). Statements per step are counted in the workers (PostgreSQL). The load average
 * (1, 5, 15 min) is taken when each case begins and when its throughput phase ends.
 *
 * BENCH_ENGINE_N (default 10000), BENCH_ENGINE_CONCURRENCY (per process, default 10),
 * BENCH_ENGINE_PACED / BENCH_ENGINE_PACED_PER_S (latency phase: items, rate; default 100 at 20/s),
 * BENCH_ENGINE_PARKED (waiting runs, default 100000), BENCH_ENGINE_ONLY (a regex of case names,
 * e.g. `postgres/agentry/one-step` or `sqlite`), BENCH_ENGINE_TIMEOUT_S (per phase, default 900),
 * AGENTRY_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { cpus, totalmem } from 'node:os';
import { PG_ADMIN_URL } from '../../test/helpers/postgres.js';
import type { Scenario } from '../run.js';
import { agentryCase } from './engine-agentry.js';
import {
  CONCURRENCY,
  GRAPHILE_BATCHING,
  N,
  PACED_ITEMS,
  PACED_PER_S,
  PARKED,
  caseName,
  loadAverage,
  pgQuery,
  round,
  type EngineCase,
} from './engine-common.js';
import { graphileOnPostgres } from './engine-graphile.js';
import { engineRatios, engineTable, printCase } from './engine-report.js';
import { sqliteRawLoop } from './engine-sqlite-raw.js';
import { CHAIN_LENGTH } from './engine-workflows.js';

const ONLY = new RegExp(process.env.BENCH_ENGINE_ONLY ?? '');

type Planned = [name: string, run: () => Promise<EngineCase>];

/** Every case in the order it runs: each comparison's two sides next to each other. */
function plan(): Planned[] {
  const planned: Planned[] = [];
  const add = (c: Pick<EngineCase, 'store' | 'system' | 'workload' | 'parked_runs' | 'processes'>, run: () => Promise<EngineCase>) =>
    planned.push([caseName(c), run]);
  for (const processes of [1, 3]) {
    add({ store: 'postgres', system: 'graphile', workload: 'noop-job', parked_runs: 0, processes }, () => graphileOnPostgres('graphile', processes));
    add({ store: 'postgres', system: 'graphile-batched', workload: 'noop-job', parked_runs: 0, processes }, () =>
      graphileOnPostgres('graphile-batched', processes),
    );
    add({ store: 'postgres', system: 'agentry', workload: 'one-step', parked_runs: 0, processes }, () => agentryCase('postgres', 'one', processes));
    if (processes === 1) {
      add({ store: 'postgres', system: 'agentry', workload: 'one-step', parked_runs: PARKED, processes }, () =>
        agentryCase('postgres', 'one', processes, PARKED),
      );
    }
    add({ store: 'postgres', system: 'agentry', workload: 'chain-10', parked_runs: 0, processes }, () => agentryCase('postgres', 'chain', processes));
  }
  add({ store: 'sqlite', system: 'sqlite-raw', workload: 'noop-job', parked_runs: 0, processes: 1 }, () => sqliteRawLoop());
  add({ store: 'sqlite', system: 'agentry', workload: 'one-step', parked_runs: 0, processes: 1 }, () => agentryCase('sqlite', 'one', 1));
  add({ store: 'sqlite', system: 'agentry', workload: 'one-step', parked_runs: PARKED, processes: 1 }, () => agentryCase('sqlite', 'one', 1, PARKED));
  add({ store: 'sqlite', system: 'agentry', workload: 'chain-10', parked_runs: 0, processes: 1 }, () => agentryCase('sqlite', 'chain', 1));
  return planned;
}

export const scenario: Scenario = {
  name: 'engine',
  description:
    `no-op steps/s and enqueue→start latency: Agentry vs graphile-worker (default, and batched) on PostgreSQL (1 and 3 worker processes), ` +
    `Agentry vs a raw claim + complete loop on SQLite, and with ${PARKED} runs waiting (N=${N}, concurrency ${CONCURRENCY} per process)`,
  async run() {
    const began = Date.now();
    const loadBefore = loadAverage();
    const cases: EngineCase[] = [];
    for (const [name, run] of plan()) {
      if (!ONLY.test(name)) continue;
      const c = await run();
      printCase(c);
      cases.push(c);
    }
    const [version] = await pgQuery<{ v: string }>(PG_ADMIN_URL, `SELECT current_setting('server_version') AS v`);
    const ratios = engineRatios(cases);
    const minutes = round((Date.now() - began) / 60_000, 1);
    console.log(`\n${engineTable(cases, ratios)}\n\n  ratios: ${JSON.stringify(ratios)}\n  took ${minutes} min`);
    return {
      n: N,
      concurrency_per_process: CONCURRENCY,
      parked_runs: PARKED,
      paced_latency: { items: PACED_ITEMS, per_s: PACED_PER_S, chain_runs_per_s: PACED_PER_S / CHAIN_LENGTH },
      machine: {
        cores: cpus().length,
        memory_gb: round(totalmem() / 2 ** 30, 1),
        load_average_before: loadBefore,
        load_average_after: loadAverage(),
        postgres: version?.v,
      },
      anchors: {
        graphile: 'graphile-worker 0.17.3, default options (no local queue, no batched completion)',
        'graphile-batched': `graphile-worker 0.17.3, preset.worker ${JSON.stringify(GRAPHILE_BATCHING)}`,
        'sqlite-raw':
          'a claim (UPDATE … RETURNING) + complete (UPDATE) loop on a better-sqlite3 WAL file, one transaction each, 5 × N jobs (engine-sqlite-raw.ts)',
      },
      duration_min: minutes,
      cases,
      ratios,
    };
  },
};
