/**
 * Prepared statements kept between queries. Kysely's SQLite driver prepares every query it runs
 * (`database.prepare(sql)`), which on the hot paths (a run's transaction, `GET /v1/runs/{id}`)
 * costs about as much as running it. The same text always gives the same statement, so the
 * driver is handed a database whose `prepare` returns the statement made for that text before:
 * the most recently used `MAX_STATEMENTS` texts are kept (texts vary with the number of rows of a
 * multi-row insert or an `IN` list, so the set is bounded, oldest dropped first).
 *
 * Safe because better-sqlite3 runs a statement to the end synchronously (`all`, `run`) and the
 * driver never iterates one, so no statement is ever in use twice at once; SQLite re-prepares a
 * statement by itself when the schema changes under it.
 */
import type Database from 'better-sqlite3';
import type { SqliteDatabase } from 'kysely';

export const MAX_STATEMENTS = 500;

export function withStatementCache(database: Database.Database, max = MAX_STATEMENTS): SqliteDatabase {
  const statements = new Map<string, Database.Statement>();
  return {
    close: () => {
      statements.clear();
      database.close();
    },
    prepare: (sql: string) => {
      let statement = statements.get(sql);
      if (statement) {
        statements.delete(sql); // re-inserted below: the most recently used come last
      } else {
        statement = database.prepare(sql);
        if (statements.size >= max) statements.delete(statements.keys().next().value!);
      }
      statements.set(sql, statement);
      return statement;
    },
  };
}
