/**
 * What PostgreSQL writes per step (`npm run bench:writes`, or `npm run bench:writes -- chain`
 * for the ten-step chain): a fresh database, 2,000 one-step runs (200 chains) started by one
 * store, then a second store's engine drains them. What the drain wrote is read from the WAL
 * (`pg_walinspect`, records of this database only): per table the heap rows inserted, updated
 * (HOT updates, which write no index entry, apart) and locked, and per index the entries
 * inserted — exact, partial indexes included — with the WAL bytes and the database's CPU (its
 * backends' user + system time, engine-db-cpu.ts) per step. The `engine` scenario's database
 * CPU per step is mostly this work (docs/performance.md#engine-steps-s-against-graphile-worker).
 */
import pg from 'pg';
import pino from 'pino';
import { openStore } from '../src/store/open.js';
import { backendCpuMs, sampleBackends } from './scenarios/engine-db-cpu.js';
import { benchEngine } from './scenarios/engine-common.js';
import { CHAIN_LENGTH } from './scenarios/engine-workflows.js';

const STEPS = 2000;
const workflow = process.argv[2] === 'chain' ? 'chain' : 'one';
const perRun = workflow === 'chain' ? CHAIN_LENGTH : 1;
const RUNS = STEPS / perRun;
const DB = 'agentry_write_amplification';
const admin = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
await admin.connect();
await admin.query(`DROP DATABASE IF EXISTS ${DB}`);
await admin.query(`CREATE DATABASE ${DB}`);
const url = `postgres://postgres@127.0.0.1:5432/${DB}`;
const logger = pino({ level: 'warn' });
const engineOn = (store: ReturnType<typeof openStore>) => benchEngine(store, { only: workflow, logger, concurrency: 10 });

const starter = openStore(url, { logger, poolSize: 10 });
await starter.migrate();
const starting = engineOn(starter);
for (let i = 0; i < RUNS; i++) await starting.startRun(workflow, {});
await starter.close();

const c = new pg.Client({ connectionString: url });
await c.connect();
await c.query('CREATE EXTENSION pg_walinspect');
await c.query('CHECKPOINT'); // full-page images of the drain's first touches are then in its WAL, as in a long run
const lsn = async () => (await c.query<{ lsn: string }>('SELECT pg_current_wal_lsn() AS lsn')).rows[0]!.lsn;
const backends = (text: string) => c.query({ text, rowMode: 'array' }).then((r) => r.rows as unknown[][]);
const startLsn = await lsn();

const store = openStore(url, { logger, poolSize: 10 });
const engine = engineOn(store);
const cpuBefore = await sampleBackends(backends);
await engine.start();
for (;;) {
  const { rows } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM runs WHERE status = 'succeeded'`);
  if (rows[0]!.n >= RUNS) break;
  await new Promise((resolve) => setTimeout(resolve, 200));
}
const cpuMs = backendCpuMs(cpuBefore, await sampleBackends(backends));
await engine.stop();
await store.close();
const endLsn = await lsn();

// Each record's first block names the relation it changed: `rel <tablespace>/<database>/<relfilenode>`.
const { rows: records } = await c.query<{ rmgr: string; type: string; description: string; node: string | null; bytes: number }>(
  `SELECT resource_manager AS rmgr, record_type AS type, description, record_length AS bytes,
          substring(block_ref from 'rel \\d+/' || (SELECT oid FROM pg_database WHERE datname = current_database()) || '/(\\d+)') AS node
   FROM pg_get_wal_records_info($1, $2)`,
  [startLsn, endLsn],
);
const { rows: relations } = await c.query<{ node: string; name: string; table: string; kind: string }>(
  `SELECT c.relfilenode::text AS node, c.relname AS name, c.relkind AS kind, coalesce(t.relname, c.relname) AS table
   FROM pg_class c LEFT JOIN pg_index i ON i.indexrelid = c.oid LEFT JOIN pg_class t ON t.oid = i.indrelid
   WHERE c.relnamespace = 'public'::regnamespace AND c.relfilenode <> 0`,
);
const byNode = new Map(relations.map((r) => [r.node, r]));

interface TableCounts {
  inserted: number;
  updated: number;
  hot: number;
  locked: number;
  entries: Map<string, number>;
}
const tables = new Map<string, TableCounts>();
const tableOf = (name: string) => {
  let t = tables.get(name);
  if (!t) tables.set(name, (t = { inserted: 0, updated: 0, hot: 0, locked: 0, entries: new Map() }));
  return t;
};
let bytes = 0;
for (const r of records) {
  const rel = r.node === null ? undefined : byNode.get(r.node);
  if (!rel) continue;
  bytes += r.bytes;
  const t = tableOf(rel.table);
  if (r.rmgr === 'Btree') {
    // An entry goes in by INSERT_LEAF, INSERT_POST (into a posting list) or a leaf page's split.
    const leafSplit = /^SPLIT_/.test(r.type) && /level:? 0\b/.test(r.description);
    if (r.type === 'INSERT_LEAF' || r.type === 'INSERT_POST' || leafSplit) t.entries.set(rel.name, (t.entries.get(rel.name) ?? 0) + 1);
  } else if (r.rmgr === 'Heap') {
    const type = r.type.replace('+INIT', '');
    if (type === 'INSERT') t.inserted++;
    else if (type === 'UPDATE') t.updated++;
    else if (type === 'HOT_UPDATE') {
      t.updated++;
      t.hot++;
    } else if (type === 'LOCK') t.locked++;
  } else if (r.rmgr === 'Heap2' && r.type.startsWith('MULTI_INSERT')) {
    t.inserted += Number(/ntuples:? (\d+)/.exec(r.description)?.[1] ?? 1);
  }
}

const per = (n: number) => (n / STEPS).toFixed(2);
let entries = 0;
console.log(`${workflow === 'chain' ? `${RUNS} chain-${CHAIN_LENGTH} runs` : `${RUNS} one-step runs`}: per step`);
for (const [name, t] of [...tables].sort(([a], [b]) => a.localeCompare(b))) {
  const total = [...t.entries.values()].reduce((a, b) => a + b, 0);
  entries += total;
  const indexes = [...t.entries].sort(([, a], [, b]) => b - a).map(([index, n]) => `${index} ${per(n)}`);
  console.log(
    `${name.padEnd(12)} inserted ${per(t.inserted)}  updated ${per(t.updated)} (HOT ${per(t.hot)})  locked ${per(t.locked)}  index entries ${per(total)}${indexes.length ? `: ${indexes.join(', ')}` : ''}`,
  );
}
console.log(`index entries written per step: ${per(entries)}`);
console.log(`WAL per step: ${(bytes / STEPS / 1024).toFixed(2)} kB`);
if (cpuMs !== null) console.log(`database CPU per step: ${(cpuMs / STEPS).toFixed(3)} ms (its backends' user + system time)`);
await c.end();
await admin.query(`DROP DATABASE ${DB}`);
await admin.end();
