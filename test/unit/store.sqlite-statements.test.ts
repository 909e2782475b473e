/** The SQLite store's statement cache: one prepared statement per query text, the least recently used dropped first. */
import Database from 'better-sqlite3';
import { describe, expect, it, vi } from 'vitest';
import { withStatementCache } from '../../src/store/sqlite-statements.js';

describe('withStatementCache', () => {
  it('prepares each text once, keeps the most recently used, and answers like the database', () => {
    const database = new Database(':memory:');
    const prepare = vi.spyOn(database, 'prepare');
    const cached = withStatementCache(database, 2);
    cached.prepare('CREATE TABLE t (n INTEGER)').run([]);
    const insert = cached.prepare('INSERT INTO t (n) VALUES (?)');
    insert.run([1]);
    expect(cached.prepare('INSERT INTO t (n) VALUES (?)')).toBe(insert);
    cached.prepare('INSERT INTO t (n) VALUES (?)').run([2]);
    const select = cached.prepare('SELECT n FROM t ORDER BY n');
    expect(select.reader).toBe(true);
    expect(select.all([])).toEqual([{ n: 1 }, { n: 2 }]);
    expect(prepare).toHaveBeenCalledTimes(3);
    // Two kept: the insert and the select; the CREATE (least recently used) was dropped.
    cached.prepare('INSERT INTO t (n) VALUES (?)');
    cached.prepare('SELECT n FROM t ORDER BY n');
    expect(prepare).toHaveBeenCalledTimes(3);
    cached.prepare('SELECT count(*) AS c FROM t');
    expect(prepare).toHaveBeenCalledTimes(4);
    cached.prepare('INSERT INTO t (n) VALUES (?)'); // dropped for the count: prepared again
    expect(prepare).toHaveBeenCalledTimes(5);
    cached.close();
    expect(database.open).toBe(false);
  });
});
