/**
 * Parks `count` runs in a store before a "waiting runs" case: runs waiting on timers and on
 * people, as a store that has been in use for a while holds them.
 *
 * One run of each `PARKED_WORKFLOWS` workflow is started through the engine and an Agentry
 * worker process executes it until it parks (`waiting`: a `sleep` of an hour, a `wait` for a
 * signal with a one-hour timeout, a `human` approval with a three-day deadline and one with
 * none). Those four runs are then copied, row for row, in one statement per table: every row
 * of every table that belongs to a run (`runs`, `steps`, `events`, `attempts`, `tasks`, … —
 * any table with a `run_id` column but the audit log) gets a copy per clone with `-<n>`
 * appended to the run id (and to a task's id). So the parked runs are what the engine writes,
 * made in seconds instead of 200,000 transactions.
 */
import { describeAgentryTables } from '../../src/store/backup-tables.js';
import { openRawPostgres, openRawSqlite, quoteName, type RawDb } from '../../src/store/raw-db.js';
import { clientEngine, startWorkers, stopWorkers, until } from './engine-common.js';
import { PARKED_WORKFLOWS } from './engine-workflows.js';

function openRaw(url: string): Promise<RawDb> {
  return url.startsWith('sqlite:') ? Promise.resolve(openRawSqlite(url.slice('sqlite:'.length))) : openRawPostgres(url);
}

async function count(db: RawDb, where: string): Promise<number> {
  const [row] = await db.rows(`SELECT count(*) FROM runs WHERE ${where}`);
  return Number(row?.[0] ?? 0);
}

/**
 * Parks about `total` runs (a multiple of the parked workflows' count) in the migrated, otherwise
 * empty store at `url`, which no other process has open; resolves with how many are parked.
 */
export async function parkRuns(url: string, total: number): Promise<number> {
  const engine = clientEngine(url);
  const templates: string[] = [];
  try {
    for (const spec of PARKED_WORKFLOWS) templates.push((await engine.startRun(spec.name, {})).id);
  } finally {
    await engine.store.close();
  }
  const db = await openRaw(url);
  try {
    const workers = await startWorkers('agentry', url, 1);
    await until(async () => (await count(db, `status = 'waiting'`)) === templates.length);
    await stopWorkers(workers);
    await cloneRuns(db, templates, Math.max(0, Math.round(total / templates.length) - 1));
    const parked = await count(db, `status = 'waiting'`);
    if (db.kind === 'postgres') await db.run('ANALYZE');
    return parked;
  } finally {
    await db.close();
  }
}

/** Copies every row that belongs to the runs `ids`, `copies` times each, in one transaction. */
async function cloneRuns(db: RawDb, ids: string[], copies: number): Promise<void> {
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
