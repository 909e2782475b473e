/**
 * `runs_by_principal` (migration 21; `runs_by_owner` before) holds only runs a principal started: a principal's own runs are
 * still listed from it, newest first, on both stores, and runs started by no one (schedules,
 * sub-runs, the CLI on its own store) are not entered in it.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Kysely, SqliteDialect, type CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/sql/dialect.js';
import { listRuns } from '../../src/store/sql/runs.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const INSERT_RUN = `INSERT INTO runs (id, tenant_id, workflow, spec_hash, spec, status, input, created_at, updated_at, created_by)
  VALUES ($1, 'default', 'wf', 'h', '{}', 'succeeded', '{}', $2, 0, $3)`;
/** 300 runs: every third started by ada, every third by bob, the rest by no one. */
const RUNS = Array.from({ length: 300 }, (_, i) => [`run_${String(i).padStart(3, '0')}`, i, [null, 'ada', 'bob'][i % 3]!] as const);
const ADA_NEWEST = RUNS.filter(([, , owner]) => owner === 'ada')
  .map(([id]) => id)
  .reverse()
  .slice(0, 5);

describe('runs by owner', () => {
  it('lists a principal’s own runs from runs_by_principal on SQLite, which holds only runs someone started', async () => {
    const { dir, remove } = tempDir();
    const file = join(dir, 'agentry.db');
    const migrated = openSqliteStore(file);
    await migrated.migrate();
    await migrated.close();
    const database = new Database(file);
    const statements: CompiledQuery[] = [];
    const db: Db = new Kysely({ dialect: new SqliteDialect({ database }), log: (e) => void (e.level === 'query' && statements.push(e.query)) });
    try {
      const insert = database.prepare(INSERT_RUN.replace(/\$\d/g, '?'));
      database.transaction(() => RUNS.forEach((r) => insert.run(...r)))();
      database.exec('ANALYZE');
      const page = await listRuns(db, { tenantId: 'default', createdBy: 'ada', limit: 5 });
      expect(page.items.map((r) => r.id)).toEqual(ADA_NEWEST);
      const statement = statements.at(-1)!;
      const plan = (database.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`).all(...statement.parameters) as { detail: string }[]).map((r) => r.detail);
      expect(plan.join('\n')).toMatch(/SEARCH runs USING INDEX runs_by_principal \(tenant_id=\? AND created_by=\?\)/);
      const index = database.prepare(`SELECT sql FROM sqlite_master WHERE name = 'runs_by_principal'`).get() as { sql: string };
      expect(index.sql).toMatch(/WHERE created_by IS NOT NULL$/);
    } finally {
      await db.destroy();
      remove();
    }
  });

  it.runIf(hasPostgres)('lists a principal’s own runs from runs_by_principal on PostgreSQL, which holds only runs someone started', async () => {
    const { url, drop } = await createTestDatabase();
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      for (const r of RUNS) await c.query(INSERT_RUN, [...r]);
      await c.query('ANALYZE runs');
      await c.query('SET enable_seqscan = off');
      const query = `SELECT id FROM runs WHERE tenant_id = 'default' AND created_by = $1 ORDER BY created_at DESC, id DESC LIMIT 5`;
      expect((await c.query(query, ['ada'])).rows.map((r: { id: string }) => r.id)).toEqual(ADA_NEWEST);
      const plan = (await c.query(`EXPLAIN ${query.replace('$1', `'ada'`)}`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      expect(plan).toContain('runs_by_principal');
      const { rows } = await c.query(`SELECT pg_get_indexdef('runs_by_principal'::regclass) AS def`);
      expect(rows[0].def).toMatch(/WHERE \(created_by IS NOT NULL\)/);
    } finally {
      await c.end();
      await drop();
    }
  });
});
