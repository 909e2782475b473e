/**
 * `FlatSql` (`src/store/sql/values.ts`): a statement written as one text with its values gives
 * the text and parameters the nested `sql` fragments it replaced give, on both dialects'
 * compilers (placeholders `?` and `$n`), and the hot statements built with it run.
 */
import Database from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/sql/dialect.js';
import { updateAttemptQuery } from '../../src/store/sql/attempts.js';
import { FlatSql, assignments, inList } from '../../src/store/sql/values.js';

const COLUMNS = { status: ['status', false], output: ['output', true], leaseOwner: ['lease_owner', false] } as const;

describe('FlatSql', () => {
  let sqlite: Db;
  let postgres: Db;
  beforeEach(() => {
    sqlite = new Kysely({ dialect: new SqliteDialect({ database: new Database(':memory:') }) });
    // Compiles only: no connection is made.
    postgres = new Kysely({ dialect: new PostgresDialect({ pool: {} as never }) });
  });
  afterEach(() => sqlite.destroy());

  it('compiles to the text and parameters of the nested fragments it replaces, on both dialects', () => {
    const patch = { status: 'succeeded', output: { ok: true }, leaseOwner: null, skipped: undefined };
    const nested = sql`UPDATE steps SET ${sql.join([...assignments(patch, COLUMNS), sql`updated_at = ${5}`])} WHERE run_id = ${'r'} AND status IN ${inList(['queued', 'running'])}`;
    const flat = new FlatSql()
      .text('UPDATE steps SET ')
      .assignments(patch, COLUMNS)
      .text(', updated_at = ')
      .value(5)
      .text(' WHERE run_id = ')
      .value('r')
      .text(' AND status IN ')
      .list(['queued', 'running'])
      .query();
    for (const db of [sqlite, postgres]) {
      const want = nested.compile(db);
      const got = flat.compile(db);
      expect(got.sql.replace(/\s+/g, ' ')).toBe(want.sql.replace(/\s+/g, ' '));
      expect(got.parameters).toEqual(want.parameters);
    }
    expect(flat.compile(postgres).sql).toContain('"lease_owner" = $3');
  });

  it('refuses a field no column is known for', () => {
    expect(() => new FlatSql().assignments({ nope: 1 }, COLUMNS)).toThrow(/unknown column/);
  });

  it('nests in other statements and runs', async () => {
    await sql`CREATE TABLE attempts (run_id TEXT, step_id TEXT, attempt INTEGER, status TEXT, output TEXT, error TEXT, finished_at INTEGER)`.execute(sqlite);
    await sql`INSERT INTO attempts VALUES ('r', 's', 1, 'running', NULL, NULL, NULL)`.execute(sqlite);
    await updateAttemptQuery('r', 's', 1, { status: 'succeeded', output: { n: 1 }, finishedAt: 9 }).execute(sqlite);
    const rows = (await sql`SELECT status, output, finished_at FROM attempts`.execute(sqlite)).rows;
    expect(rows).toEqual([{ status: 'succeeded', output: '{"n":1}', finished_at: 9 }]);
  });
});
