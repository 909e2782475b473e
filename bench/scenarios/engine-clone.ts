/**
 * Copies runs row for row, to fill a store fast with runs the engine made: every row of every
 * table that belongs to a run (`runs`, `steps`, `events`, `attempts`, `tasks`, … — any table
 * with a `run_id` column but the audit log) gets a copy per clone, with `-<n>` appended to the
 * run id (and to the row's own `id` where that is its primary key, a task's). One statement per
 * table, in one transaction; the tables and their columns are read from the catalog.
 */
import { describeAgentryTables } from '../../src/store/backup-tables.js';
import { openRawPostgres, openRawSqlite, quoteName, type RawDb } from '../../src/store/raw-db.js';

/** One plain connection to the store at `url` (`sqlite:<file>` or `postgres://…`). */
export function openRaw(url: string): Promise<RawDb> {
  return url.startsWith('sqlite:') ? Promise.resolve(openRawSqlite(url.slice('sqlite:'.length))) : openRawPostgres(url);
}

/** Copies every row that belongs to the runs `ids`, `copies` times each, in one transaction. */
export async function cloneRuns(db: RawDb, ids: string[], copies: number): Promise<void> {
  const list = ids.map((id) => `'${id.replace(/'/g, "''")}'`).join(', ');
  await db.run('BEGIN');
  try {
    for (const table of await describeAgentryTables(db)) {
      const own = table.name === 'runs' ? 'id' : table.columns.includes('run_id') && table.name !== 'audit_log' ? 'run_id' : undefined;
      if (!own) continue;
      const renamed = (column: string) =>
        column === own || (column === 'id' && table.primaryKey.join() === 'id')
          ? `t.${quoteName(column)} || '-' || CAST(g.n AS TEXT)`
          : `t.${quoteName(column)}`;
      await db.run(
        `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < ${db.param(1)})
         INSERT INTO ${quoteName(table.name)} (${table.columns.map(quoteName).join(', ')})
         SELECT ${table.columns.map(renamed).join(', ')} FROM ${quoteName(table.name)} t CROSS JOIN g WHERE t.${quoteName(own)} IN (${list})`,
        [copies],
      );
    }
    await db.run('COMMIT');
  } catch (error) {
    await db.run('ROLLBACK');
    throw error;
  }
}
