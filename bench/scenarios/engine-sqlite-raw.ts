/**
 * The SQLite anchor of the `engine` scenario: the least a durable job loop on one SQLite file
 * can do per job, to set Agentry's SQLite figures against on the same machine in the same run.
 *
 * - A fresh WAL file with Agentry's pragmas (src/store/sqlite.ts: `journal_mode = WAL`,
 *   `synchronous = NORMAL`, `foreign_keys = ON`, `busy_timeout = 5000`) and one table,
 *   `jobs (id, status, priority, available_at, locked_by, locked_at, finished_at, payload)`,
 *   with a partial index of the queued jobs by `(priority DESC, available_at)`; 5 × N queued
 *   jobs (so that the loop, some ten times faster than the engine, still runs for seconds)
 *   inserted in one transaction.
 * - CONCURRENCY loops in one process (Agentry's SQLite shape: one process, that many steps at
 *   once), each: claim the best due job, one `BEGIN IMMEDIATE` transaction of one
 *   `UPDATE jobs SET status = 'running', locked_by, locked_at WHERE id = (SELECT … due, best
 *   first, LIMIT 1) RETURNING id, payload`; hand it to a no-op handler (an `await` of
 *   `setImmediate`, so the loops interleave as executions do); complete it, one `BEGIN
 *   IMMEDIATE` transaction of one `UPDATE … SET status = 'succeeded', finished_at WHERE id AND
 *   locked_by` (the row stays, as Agentry's history does). A loop ends when no job is due.
 * - In the bench process, with prepared statements (better-sqlite3 is synchronous). Time: from
 *   the first claim to the last completion; CPU: the process's over the same span.
 *
 * No history (events, attempts), no run above the job, no wake-ups, no leases to renew: the
 * ceiling a claim + complete loop sets on this machine, not a like-for-like engine.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import { CONCURRENCY, N, loadAverage, round, type EngineCase } from './engine-common.js';

const JOBS = 5 * N;

export async function sqliteRawLoop(): Promise<EngineCase> {
  const before = loadAverage();
  const dir = mkdtempSync(join(tmpdir(), 'agentry-bench-raw-'));
  const db = new Database(join(dir, 'jobs.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.exec(`CREATE TABLE jobs (
      id INTEGER PRIMARY KEY, status TEXT NOT NULL, priority INTEGER NOT NULL DEFAULT 0, available_at INTEGER NOT NULL,
      locked_by TEXT, locked_at INTEGER, finished_at INTEGER, payload TEXT NOT NULL)`);
    db.exec(`CREATE INDEX jobs_due ON jobs (priority DESC, available_at) WHERE status = 'queued'`);
    const insert = db.prepare(`INSERT INTO jobs (status, available_at, payload) VALUES ('queued', ?, '{}')`);
    const now = Date.now();
    db.transaction(() => {
      for (let i = 0; i < JOBS; i++) insert.run(now);
    })();
    const claim = db.prepare(
      `UPDATE jobs SET status = 'running', locked_by = ?, locked_at = ?
       WHERE id = (SELECT id FROM jobs WHERE status = 'queued' AND available_at <= ? ORDER BY priority DESC, available_at LIMIT 1)
       RETURNING id, payload`,
    );
    const complete = db.prepare(`UPDATE jobs SET status = 'succeeded', finished_at = ?, locked_by = NULL WHERE id = ? AND locked_by = ?`);
    const claimOne = db.transaction((worker: string) => claim.get(worker, Date.now(), Date.now()) as { id: number; payload: string } | undefined);
    const completeOne = db.transaction((id: number, worker: string) => complete.run(Date.now(), id, worker).changes);

    const cpuAtStart = process.cpuUsage();
    const started = performance.now();
    let done = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async (_, i) => {
        const worker = `loop-${i}`;
        for (;;) {
          const job = claimOne.immediate(worker);
          if (!job) return;
          JSON.parse(job.payload);
          await yieldToLoop();
          if (completeOne.immediate(job.id, worker) !== 1) throw new Error(`job ${job.id} was not completed`);
          done++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuAtStart);
    const after = loadAverage();
    if (done !== JOBS) throw new Error(`the raw loop completed ${done} of ${JOBS} jobs`);
    return {
      store: 'sqlite',
      system: 'sqlite-raw',
      workload: 'noop-job',
      parked_runs: 0,
      processes: 1,
      concurrency_per_process: CONCURRENCY,
      runs: JOBS,
      steps: JOBS,
      seconds: round(seconds, 2),
      steps_per_s: round(JOBS / seconds),
      statements_per_step: null,
      worker_cpu_ms_per_step: round((cpu.user + cpu.system) / 1000 / JOBS, 3),
      db_cpu_ms_per_step: null,
      enqueue_to_start: null,
      enqueue_runs_per_s: null,
      load_average: { before, after },
    };
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
