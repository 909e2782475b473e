/**
 * The PostgreSQL anchor of the `engine` scenario: graphile-worker 0.17.3 draining N no-op jobs
 * (bulk `addJobs`) in a fresh database, with its default options (`graphile`) or with its
 * batching on (`graphile-batched`: local queue + batched completion, `GRAPHILE_BATCHING`;
 * 5 × N jobs).
 */
import { randomBytes } from 'node:crypto';
import { makeWorkerUtils, runMigrations } from 'graphile-worker';
import pg from 'pg';
import { dropTestDatabase, pgUrl, PG_ADMIN_URL } from '../../test/helpers/postgres.js';
import {
  CONCURRENCY,
  N,
  PACED_ITEMS,
  PACED_PER_S,
  latency,
  loadAverage,
  paced,
  pgQuery,
  round,
  startWorkers,
  stopWorkers,
  until,
  type EngineCase,
} from './engine-common.js';
import { backendCpuMs, sampleBackends } from './engine-db-cpu.js';

/** `prefix`: of the database's name (another bench's own, so that it can tell its databases apart). */
export async function graphileOnPostgres(system: 'graphile' | 'graphile-batched', processes: number, prefix = 'agentry_bench_gw_'): Promise<EngineCase> {
  const before = loadAverage();
  // Batched, graphile-worker is several times faster: 5 × N jobs keep it running for seconds too.
  const jobs = system === 'graphile-batched' ? 5 * N : N;
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  await pgQuery(PG_ADMIN_URL, `CREATE DATABASE ${name}`);
  const url = pgUrl(name);
  const utils = await makeWorkerUtils({ connectionString: url });
  // One connection for the bench's polls (every 20 ms), reading one row at most.
  const probe = new pg.Client({ connectionString: url });
  await probe.connect();
  try {
    await runMigrations({ connectionString: url });
    await utils.addJobs(Array.from({ length: jobs }, () => ({ identifier: 'noop', payload: {} })));
    // Planner statistics as autovacuum would have them by now (the Agentry cases do the same).
    await pgQuery(url, `ANALYZE`);
    const idle = async () => (await probe.query(`SELECT 1 FROM graphile_worker._private_jobs LIMIT 1`)).rowCount === 0;
    const backends = async (text: string) => (await probe.query<unknown[]>({ text, rowMode: 'array' })).rows;
    const cpuBefore = await sampleBackends(backends);
    const workers = await startWorkers(system, url, processes);
    const end = await until(idle);
    const dbCpuMs = backendCpuMs(cpuBefore, await sampleBackends(backends));
    const after = loadAverage();
    await paced(PACED_ITEMS, PACED_PER_S, () => utils.addJob('noop', { t: Date.now() }));
    await until(idle);
    const { queries, cpuMs, latenciesMs, firstStartAt } = await stopWorkers(workers);
    const seconds = (end - firstStartAt) / 1000;
    return {
      store: 'postgres',
      system,
      workload: 'noop-job',
      parked_runs: 0,
      processes,
      concurrency_per_process: CONCURRENCY,
      runs: jobs,
      steps: jobs,
      seconds: round(seconds, 2),
      steps_per_s: round(jobs / seconds),
      statements_per_step: round(queries / (jobs + PACED_ITEMS), 2),
      worker_cpu_ms_per_step: round(cpuMs / (jobs + PACED_ITEMS), 2),
      db_cpu_ms_per_step: dbCpuMs === null ? null : round(dbCpuMs / jobs, 2),
      enqueue_to_start: latency(latenciesMs),
      enqueue_runs_per_s: null,
      load_average: { before, after },
    };
  } finally {
    await probe.end();
    await utils.release();
    await dropTestDatabase(name);
  }
}
