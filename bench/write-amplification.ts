/**
 * What PostgreSQL writes per step (`npm run bench:writes`): a fresh database,
 * 2,000 one-step runs started by one store, then a second store's engine drains them. Each
 * store's connections close after its phase (a backend reports its statistics when it exits),
 * and the per-table counters are read before and after the drain: the rows inserted and updated
 * per step (HOT updates, which write no index entry, apart), the table's indexes, and so about
 * how many index entries a step writes. The `engine` scenario's database CPU per step is mostly
 * this work (docs/performance.md#engine-steps-s-against-graphile-worker).
 */
import pg from 'pg';
import pino from 'pino';
import { Engine } from '../src/engine/engine.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../src/runtime/registry.js';
import { compileWorkflow, STEP_KINDS } from '../src/spec/index.js';
import { openStore } from '../src/store/open.js';
import { BENCH_LIMITS } from './scenarios/engine-common.js';

const N = 2000;
const DB = 'agentry_write_amplification';
const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
await admin.query(`CREATE DATABASE ${DB}`);
const url = `postgres://postgres@127.0.0.1:5432/${DB}`;
const logger = pino({ level: 'warn' });
const workflows = new Map([['one', compileWorkflow({ name: 'one', steps: { only: { transform: { ok: true } } } }, { availableKinds: new Set(STEP_KINDS) })]]);
const engineOn = (store: ReturnType<typeof openStore>) =>
  new Engine({
    store,
    workflows,
    executors: createExecutorRegistry(defaultExecutors()),
    executorSettings: DEFAULT_EXECUTOR_SETTINGS,
    logger,
    env: {},
    limits: BENCH_LIMITS,
    settings: { concurrency: 10 },
  });

const starter = openStore(url, { logger, poolSize: 10 });
await starter.migrate();
const starting = engineOn(starter);
for (let i = 0; i < N; i++) await starting.startRun('one', {});
await starter.close();

type Counters = Map<string, { ins: number; upd: number; hot: number }>;
const c = new pg.Client({ connectionString: url });
await c.connect();
async function counters(): Promise<Counters> {
  await new Promise((resolve) => setTimeout(resolve, 1_000)); // exited backends' statistics arrive
  await c.query('SELECT pg_stat_clear_snapshot()');
  const { rows } = await c.query<{ relname: string; ins: string; upd: string; hot: string }>(
    `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables`,
  );
  return new Map(rows.map((r) => [r.relname, { ins: Number(r.ins), upd: Number(r.upd), hot: Number(r.hot) }]));
}
const before = await counters();

const store = openStore(url, { logger, poolSize: 10 });
const engine = engineOn(store);
await engine.start();
for (;;) {
  const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM runs WHERE status = 'succeeded'`);
  if (rows[0]!.n >= N) break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
await engine.stop();
await store.close();
const after = await counters();

const indexes = new Map(
  (
    await c.query<{ tablename: string; n: number }>(`SELECT tablename, count(*)::int AS n FROM pg_indexes WHERE schemaname = 'public' GROUP BY tablename`)
  ).rows.map((r) => [r.tablename, r.n]),
);
let entries = 0;
for (const [table, end] of [...after].sort(([a], [b]) => a.localeCompare(b))) {
  const start = before.get(table) ?? { ins: 0, upd: 0, hot: 0 };
  const ins = end.ins - start.ins;
  const upd = end.upd - start.upd;
  const hot = end.hot - start.hot;
  if (ins + upd === 0) continue;
  const written = (ins + upd - hot) * (indexes.get(table) ?? 0);
  entries += written;
  const per = (n: number) => (n / N).toFixed(2);
  console.log(
    `${table.padEnd(12)} inserted ${per(ins)}  updated ${per(upd)} (HOT ${per(hot)})  indexes ${indexes.get(table) ?? 0}  index entries ~${per(written)} per step`,
  );
}
console.log(`index entries written per step: ~${(entries / N).toFixed(1)}`);
await c.end();
await admin.query(`DROP DATABASE ${DB}`);
await admin.end();
