/**
 * `fixedQuery` (`src/store/sql/values.ts`): a query compiled once per database handle and sent
 * again with new parameters gives what compiling it each time gives, and refuses parameters
 * listed in another order than its text uses them.
 */
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/sql/dialect.js';
import { fixedQuery } from '../../src/store/sql/values.js';

describe('fixedQuery', () => {
  let db: Db;
  beforeEach(async () => {
    db = new Kysely({ dialect: new SqliteDialect({ database: new Database(':memory:') }) });
    await sql`CREATE TABLE t (a TEXT, b INTEGER)`.execute(db);
    await sql`INSERT INTO t VALUES ('x', 1), ('x', 2), ('y', 3)`.execute(db);
  });
  afterEach(() => db.destroy());

  it('gives each call the rows of its own parameters', async () => {
    const read = fixedQuery(
      (a: string, min: number) => sql`SELECT a, b FROM t WHERE a = ${a} AND b >= ${min} ORDER BY b`,
      (a, min) => [a, min],
    );
    expect(await read(db, 'x', 1)).toEqual([
      { a: 'x', b: 1 },
      { a: 'x', b: 2 },
    ]);
    expect(await read(db, 'x', 2)).toEqual([{ a: 'x', b: 2 }]);
    expect(await read(db, 'y', 0)).toEqual([{ a: 'y', b: 3 }]);
    expect(await read(db, 'z', 0)).toEqual([]);
  });

  it('refuses parameters given in another order than the text uses them', async () => {
    const wrong = fixedQuery(
      (a: string, min: number) => sql`SELECT a FROM t WHERE a = ${a} AND b >= ${min}`,
      (a, min) => [min, a],
    );
    await expect(wrong(db, 'x', 1)).rejects.toMatchObject({ code: 'internal' });
  });
});
