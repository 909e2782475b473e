/**
 * The ledger's sums by period (a tenant's or a workflow's UTC day or month, the usage report's
 * days) read the records by time (migration 36: `llm_calls_by_tenant_at`, `llm_calls_by_workflow_at`):
 * the records at the edges of a day and a month count in the period they belong to, and each
 * statement is planned with one of those indexes on both stores.
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, type CompiledQuery } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Db } from '../../src/store/sql/dialect.js';
import { ledgerSpent } from '../../src/store/sql/budgets.js';
import { usage } from '../../src/store/sql/usage.js';
import type { Store } from '../../src/store/store.js';
import type { CallRecord, SpendQuery } from '../../src/types.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, storeFactories, tempDir } from '../helpers/store.js';

let n = 0;
function record(at: string, over: Partial<CallRecord> = {}): CallRecord {
  return {
    id: `call_period_${++n}`,
    tenantId: 'acme',
    runId: null,
    stepId: null,
    workflow: 'wf',
    group: 'smart',
    provider: 'up',
    model: 'm',
    inputTokens: 1,
    outputTokens: 0,
    costUsd: 0.5,
    latencyMs: 1,
    outcome: 'ok',
    at: Date.parse(at),
    ...over,
  };
}

/** One token each: a sum's tokens count the records in the period. */
const RECORDS = [
  record('2026-02-28T23:59:59.999Z'),
  record('2026-03-01T00:00:00.000Z'),
  record('2026-03-19T23:59:59.999Z'),
  record('2026-03-20T00:00:00.000Z'),
  record('2026-03-20T12:00:00.000Z', { workflow: null }),
  record('2026-03-20T23:59:59.999Z', { workflow: 'other' }),
  record('2026-03-21T00:00:00.000Z'),
  record('2026-03-31T23:59:59.999Z'),
  record('2026-04-01T00:00:00.000Z'),
  record('2026-03-20T10:00:00.000Z', { tenantId: 'someone-else' }),
];

const PERIODS: Array<[SpendQuery, number]> = [
  [{ scope: 'tenant', tenantId: 'acme', day: '2026-03-20' }, 3],
  [{ scope: 'tenant', tenantId: 'acme', month: '2026-03' }, 7],
  [{ scope: 'tenant', tenantId: 'acme', month: '2026-02' }, 1],
  [{ scope: 'workflow', tenantId: 'acme', workflow: 'wf', day: '2026-03-20' }, 1],
  [{ scope: 'workflow', tenantId: 'acme', workflow: 'wf', month: '2026-03' }, 5],
  [{ scope: 'workflow', tenantId: 'acme', workflow: 'other', month: '2026-03' }, 1],
];

describe.each(storeFactories)('the ledger by period on $name', (factory) => {
  let store: Store;
  let cleanup: () => Promise<void>;

  beforeEach(async () => {
    ({ store, cleanup } = await factory.open());
    await store.recordCalls({ records: RECORDS.map((r) => ({ record: r, unreserved: true })), release: [] });
  });

  afterEach(async () => {
    await cleanup();
  });

  it("sums a tenant's and a workflow's day and month with the records at their edges in the right period", async () => {
    for (const [query, tokens] of PERIODS) expect({ query, tokens: (await store.spent(query)).tokens }).toEqual({ query, tokens });
  });

  it("reports the days asked for, the first and last included, and only the tenant's", async () => {
    const rows = await store.usage({ tenantId: 'acme', fromDay: '2026-03-19', toDay: '2026-03-20' });
    const calls = (day: string): number => rows.filter((r) => r.day === day).reduce((sum, r) => sum + r.calls, 0);
    expect([calls('2026-03-19'), calls('2026-03-20'), rows.length]).toEqual([1, 3, 4]);
    const ofWorkflow = await store.usage({ tenantId: 'acme', workflow: 'wf', fromDay: '2026-03-01', toDay: '2026-03-31' });
    expect(ofWorkflow.reduce((sum, r) => sum + r.calls, 0)).toBe(5);
  });
});

/** The statements of the period sums and the usage report, as sent (parameters included). */
async function periodStatements(db: Db, log: CompiledQuery[]): Promise<CompiledQuery[]> {
  for (const [query] of PERIODS) await ledgerSpent(db, query);
  await usage(db, { tenantId: 'acme', fromDay: '2026-03-19', toDay: '2026-03-20' });
  await usage(db, { tenantId: 'acme', workflow: 'wf', fromDay: '2026-03-01', toDay: '2026-03-31' });
  return log.splice(0);
}

const BY_TIME = /llm_calls_by_(tenant|workflow)_at/;

describe('the ledger by period: plans', { timeout: 60_000 }, () => {
  it('SQLite: every period sum and usage report searches llm_calls by one of its time indexes', async () => {
    const { dir, remove } = tempDir();
    const file = `${dir}/agentry.db`;
    try {
      const store = openSqliteStore(file);
      await store.migrate();
      await store.recordCalls({ records: RECORDS.map((r) => ({ record: r, unreserved: true })), release: [] });
      await store.close();
      const database = new Database(file);
      const log: CompiledQuery[] = [];
      const db: Db = new Kysely({ dialect: new SqliteDialect({ database }), log: (e) => void (e.level === 'query' && log.push(e.query)) });
      try {
        const statements = await periodStatements(db, log);
        expect(statements).toHaveLength(PERIODS.length + 2);
        for (const statement of statements) {
          const plan = (database.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`).all(...statement.parameters) as { detail: string }[])
            .map((r) => r.detail)
            .join('\n');
          expect(plan).toMatch(BY_TIME);
          expect(plan).not.toMatch(/SCAN llm_calls$/m);
        }
      } finally {
        await db.destroy();
      }
    } finally {
      remove();
    }
  });

  it.runIf(hasPostgres)('PostgreSQL: every period sum and usage report reads llm_calls by one of its time indexes', async () => {
    const { url, drop } = await createTestDatabase();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const log: CompiledQuery[] = [];
    const db: Db = new Kysely({ dialect: new PostgresDialect({ pool }), log: (e) => void (e.level === 'query' && log.push(e.query)) });
    try {
      const statements = await periodStatements(db, log);
      expect(statements).toHaveLength(PERIODS.length + 2);
      const client = await pool.connect();
      try {
        await client.query('SET enable_seqscan = off');
        for (const statement of statements) {
          const plan = (await client.query(`EXPLAIN ${statement.sql}`, [...statement.parameters])).rows
            .map((r: Record<string, string>) => r['QUERY PLAN'])
            .join('\n');
          expect(plan).toMatch(BY_TIME);
        }
      } finally {
        client.release();
      }
    } finally {
      await db.destroy();
      await drop();
    }
  });
});
