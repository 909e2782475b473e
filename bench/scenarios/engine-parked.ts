/**
 * Parks `count` runs in a store before a "waiting runs" case: runs waiting on timers and on
 * people, as a store that has been in use for a while holds them.
 *
 * One run of each `PARKED_WORKFLOWS` workflow is started through the engine and an Agentry
 * worker process executes it until it parks (`waiting`: a `sleep` of an hour, a `wait` for a
 * signal with a one-hour timeout, a `human` approval with a three-day deadline and one with
 * none). Those four runs are then copied row for row (engine-clone.ts), so the parked runs are
 * what the engine writes, made in seconds instead of 200,000 transactions.
 */
import type { RawDb } from '../../src/store/raw-db.js';
import { cloneRuns, openRaw } from './engine-clone.js';
import { clientEngine, startWorkers, stopWorkers, until } from './engine-common.js';
import { PARKED_WORKFLOWS } from './engine-workflows.js';

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
