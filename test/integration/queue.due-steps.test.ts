/**
 * Finding due steps does not walk the steps parked on timers and people: on SQLite the query reads
 * queued steps from `steps_queued_due` in priority order and waiting ones from a range of
 * `steps_waiting_due` (a plan that scanned one index over both walked every parked step first,
 * which made 100,000 waiting runs cost each claim a scan of them).
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, type CompiledQuery } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { Db } from '../../src/store/sql/dialect.js';
import { dueSteps } from '../../src/store/sql/queue.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { tempDir } from '../helpers/store.js';

const NOW = 1_000_000;

describe('due steps on SQLite', () => {
  it('reads queued and waiting steps from their own indexes, best first, skipping the parked ones', async () => {
    const { dir, remove } = tempDir();
    const file = join(dir, 'agentry.db');
    const migrated = openSqliteStore(file);
    await migrated.migrate();
    await migrated.close();
    const database = new Database(file);
    const statements: CompiledQuery[] = [];
    const db: Db = new Kysely({ dialect: new SqliteDialect({ database }), log: (e) => void (e.level === 'query' && statements.push(e.query)) });
    try {
      const run = database.prepare(
        `INSERT INTO runs (id, tenant_id, workflow, spec_hash, spec, status, input, created_at, updated_at)
         VALUES (?, 'default', 'wf', 'h', '{}', 'waiting', '{}', 0, 0)`,
      );
      const step = database.prepare(
        `INSERT INTO steps (run_id, step_id, kind, status, priority, available_at, updated_at) VALUES (?, ?, 'transform', ?, ?, ?, 0)`,
      );
      database.transaction(() => {
        for (let i = 0; i < 2_000; i++) {
          run.run(`parked-${i}`);
          // Parked on a person (no due time) or a timer an hour away.
          step.run(`parked-${i}`, 's', 'waiting', 0, i % 2 === 0 ? null : NOW + 3_600_000);
        }
        for (const [id, status, priority, at] of [
          ['queued-low', 'queued', 0, NOW - 10],
          ['queued-high', 'queued', 5, NOW - 1],
          ['queued-later', 'queued', 9, NOW + 60_000],
          ['timer-fired', 'waiting', 0, NOW - 20],
          ['timer-fired-high', 'waiting', 5, NOW - 30],
        ] as const) {
          run.run(id);
          step.run(id, 's', status, priority, at);
        }
      })();

      const due = await dueSteps(db, NOW, 10);
      expect(due.map((d) => d.runId)).toEqual(['timer-fired-high', 'queued-high', 'timer-fired', 'queued-low']);
      expect((await dueSteps(db, NOW, 2)).map((d) => d.runId)).toEqual(['timer-fired-high', 'queued-high']);

      const statement = statements.at(-1)!;
      const plan = (database.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`).all(...statement.parameters) as { detail: string }[]).map((r) => r.detail);
      expect(plan).toContain('SCAN steps USING INDEX steps_queued_due');
      expect(plan).toContain('SEARCH steps USING INDEX steps_waiting_due (available_at<?)');
      expect(plan.join('\n')).not.toMatch(/SCAN steps(?! USING INDEX steps_queued_due)/);
    } finally {
      await db.destroy();
      remove();
    }
  });
});
