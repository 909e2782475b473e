/**
 * The usage ledger's batch write (`Store.recordCalls`) in-process, this checkout beside
 * BENCH_BASELINE (another checkout, as for `gateway-ab.ts`): each opens a fresh SQLite file and
 * writes BENCH_BATCHES (default 2,000) batches of k records for each k in BENCH_SIZES (default
 * 1,4,16), rounds alternating which goes first; prints the process CPU time (`process.cpuUsage`)
 * per batch and per record. Records look like the gateway bench's: one tenant, no run, no
 * workflow, no budget (`unreserved`). BENCH_COUNTERS=1 creates the tenant's day and month budget
 * counters first (a tenant with a budget: each batch adds to them). BENCH_ROUNDS (default 3).
 * BENCH_STORE=postgres uses a fresh database on BENCH_PG_URL (default
 * postgres://postgres@127.0.0.1:5432/postgres) instead; its CPU figure is this process's only.
 *
 *   BENCH_BASELINE=/tmp/base npx tsx bench/gateway-ledger.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LedgerBatch } from '../src/types.js';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BATCHES = Number(process.env.BENCH_BATCHES ?? 2_000);
const SIZES = (process.env.BENCH_SIZES ?? '1,4,16').split(',').map(Number);
const baseline = process.env.BENCH_BASELINE;
if (baseline === undefined) {
  console.error('set BENCH_BASELINE to the checkout to compare with');
  process.exit(2);
}
const checkouts: Record<string, string> = { baseline, this: join(import.meta.dirname, '..') };

interface LedgerStore {
  migrate(): Promise<unknown>;
  recordCalls(batch: LedgerBatch): Promise<void>;
  close(): Promise<void>;
}
type Open = (file: string) => LedgerStore;
const postgres = process.env.BENCH_STORE === 'postgres';
const adminUrl = process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

let seq = 0;
function batchOf(k: number, at: number): LedgerBatch {
  const records: LedgerBatch['records'] = [];
  for (let i = 0; i < k; i++) {
    const id = `call_${(seq++).toString(36).padStart(12, '0')}`;
    records.push({
      record: {
        id,
        tenantId: 'default',
        runId: null,
        stepId: null,
        workflow: null,
        group: 'fast',
        provider: 'bench',
        model: 'bench-model',
        inputTokens: 12,
        outputTokens: 3,
        costUsd: 0.000021,
        latencyMs: 1,
        outcome: 'ok',
        at,
      },
      unreserved: true,
    });
  }
  return { records, release: [] };
}

async function adminQuery(text: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

async function measure(open: Open, k: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'ledger-bench-'));
  const database = `ledger_bench_${process.pid}`;
  let target = join(dir, 'agentry.db');
  if (postgres) {
    await adminQuery(`DROP DATABASE IF EXISTS ${database}`);
    await adminQuery(`CREATE DATABASE ${database}`);
    const url = new URL(adminUrl);
    url.pathname = `/${database}`;
    target = url.toString();
  }
  const store = open(target);
  try {
    await store.migrate();
    const at = Date.now();
    if (process.env.BENCH_COUNTERS === '1') {
      const day = new Date(at).toISOString().slice(0, 10);
      const insert = 'INSERT INTO budget_counters (scope_key, spent_tokens, spent_usd, updated_at) VALUES';
      const values = `('tenant:default:day:${day}', 0, 0, 0), ('tenant:default:month:${day.slice(0, 7)}', 0, 0, 0)`;
      if (postgres) {
        const { default: pg } = await import('pg');
        const client = new pg.Client({ connectionString: target });
        await client.connect();
        await client.query(`${insert} ${values}`);
        await client.end();
      } else {
        const { default: Database } = await import('better-sqlite3');
        const db = new Database(target);
        db.exec(`${insert} ${values}`);
        db.close();
      }
    }
    for (let i = 0; i < 200; i++) await store.recordCalls(batchOf(k, at)); // warm-up
    const start = process.cpuUsage();
    for (let i = 0; i < BATCHES; i++) await store.recordCalls(batchOf(k, at));
    const used = process.cpuUsage(start);
    return (used.user + used.system) / BATCHES;
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
    if (postgres) await adminQuery(`DROP DATABASE IF EXISTS ${database}`);
  }
}

const opens: Record<string, Open> = {};
for (const [name, root] of Object.entries(checkouts)) {
  if (postgres) {
    const mod = (await import(join(root, 'src/store/postgres.ts'))) as { openPostgresStore: Open };
    opens[name] = mod.openPostgresStore;
  } else {
    const mod = (await import(join(root, 'src/store/sqlite.ts'))) as { openSqliteStore: Open };
    opens[name] = mod.openSqliteStore;
  }
}
const results: Record<string, Record<number, number[]>> = { baseline: {}, this: {} };
for (let round = 0; round < ROUNDS; round++) {
  const order = round % 2 === 0 ? ['baseline', 'this'] : ['this', 'baseline'];
  for (const k of SIZES) {
    for (const name of order) {
      const micros = await measure(opens[name]!, k);
      (results[name]![k] ??= []).push(micros);
    }
  }
}
for (const k of SIZES) {
  for (const name of ['baseline', 'this']) {
    const runs = results[name]![k]!;
    const perBatch = runs.map((us) => us.toFixed(0)).join(' / ');
    const perRecord = runs.map((us) => (us / k).toFixed(1)).join(' / ');
    console.log(`k=${k} ${name.padEnd(8)} µs CPU per batch ${perBatch}   per record ${perRecord}`);
  }
}
