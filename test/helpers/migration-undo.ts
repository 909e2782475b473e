/**
 * How to take back each recent migration, newest last: the statements that return the schema to
 * the version before it. Tests use it to stage a store as an older build left it — the audit
 * log's upgrade (`store.audit.test.ts`) and the upgrade drill's previous release
 * (`test/drills/upgrade-and-rollback.test.ts`). A new migration needs its entry here.
 */
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/migrations.js';

/** A statement both dialects accept, or one per dialect (PostgreSQL's DROP TRIGGER names its table). */
export type UndoStatement = string | { sqlite: string; postgres: string };

/** The text of `statement` for `dialect`. */
export function undoSql(statement: UndoStatement, dialect: string): string {
  if (typeof statement === 'string') return statement;
  return dialect === 'postgres' ? statement.postgres : statement.sqlite;
}

/** Migration 19's row function counting map items, which migration 32 replaced. */
function rowCountFunction(): string {
  const statements = MIGRATIONS.find((m) => m.version === 19)!.postgres;
  return statements.find((s) => s.includes('FUNCTION agentry_count_step_items()'))!;
}

const dropTrigger = (name: string, table = 'steps'): UndoStatement => ({ sqlite: `DROP TRIGGER ${name}`, postgres: `DROP TRIGGER ${name} ON ${table}` });

export const MIGRATION_UNDO: Readonly<Record<number, readonly UndoStatement[]>> = {
  13: ['ALTER TABLE runs DROP COLUMN trace_context'],
  14: ['DROP INDEX runs_active', 'DROP INDEX tasks_open'],
  15: ['DROP INDEX events_by_time'],
  16: ['DROP TABLE maintenance', 'ALTER TABLE workers DROP COLUMN drain_requested_at', 'ALTER TABLE schema_migrations DROP COLUMN duration_ms'],
  17: ['DROP INDEX runs_by_end'],
  18: ['ALTER TABLE maintenance DROP COLUMN quiesce'],
  19: [
    dropTrigger('step_items_inserted'),
    dropTrigger('step_items_changed'),
    dropTrigger('step_items_deleted'),
    { sqlite: 'SELECT 1', postgres: 'DROP FUNCTION agentry_count_step_items()' },
    'DROP INDEX steps_pending_items',
    'DROP INDEX steps_top_level',
    'DROP TABLE step_item_counts',
  ],
  20: [
    `CREATE INDEX steps_due ON steps (priority DESC, available_at) WHERE status IN ('queued', 'waiting')`,
    'DROP INDEX steps_queued_due',
    'DROP INDEX steps_waiting_due',
  ],
  21: ['CREATE INDEX runs_by_owner ON runs (tenant_id, created_by, created_at DESC, id DESC)', 'DROP INDEX runs_by_principal'],
  22: ['ALTER TABLE llm_calls DROP COLUMN cached_tokens', 'ALTER TABLE llm_calls DROP COLUMN reasoning_tokens'],
  23: ['DROP TABLE tool_switches'],
  24: [
    dropTrigger('tenant_runs_inserted', 'runs'),
    { sqlite: 'DROP TRIGGER tenant_runs_ended', postgres: 'DROP TRIGGER tenant_runs_changed ON runs' },
    { sqlite: 'DROP TRIGGER tenant_runs_resumed', postgres: 'SELECT 1' },
    dropTrigger('tenant_runs_deleted', 'runs'),
    { sqlite: 'SELECT 1', postgres: 'DROP FUNCTION agentry_count_inserted_runs(), agentry_count_deleted_runs(), agentry_count_changed_run()' },
    { sqlite: 'SELECT 1', postgres: 'DROP TRIGGER step_items_inserted ON steps' },
    { sqlite: 'SELECT 1', postgres: 'DROP FUNCTION agentry_count_inserted_items()' },
    {
      sqlite: 'SELECT 1',
      postgres: `CREATE TRIGGER step_items_inserted AFTER INSERT ON steps FOR EACH ROW WHEN (NEW.parent_step IS NOT NULL) EXECUTE FUNCTION agentry_count_step_items()`,
    },
    'DROP TABLE tenant_run_counts',
    'DROP TABLE tenant_run_starts',
  ],
  25: ['ALTER TABLE runs DROP COLUMN metadata', 'ALTER TABLE runs DROP COLUMN overrides', 'ALTER TABLE runs DROP COLUMN adhoc'],
  26: ['DROP TABLE environment_policies'],
  27: ['DROP INDEX llm_calls_by_tenant_at', 'ALTER TABLE llm_calls DROP COLUMN cache_hit'],
  28: ['DROP TABLE llm_cache'],
  29: ['DROP TABLE agent_memory'],
  30: ['DROP TABLE plugin_kv'],
  31: ['DROP TABLE plugin_switches'],
  32: [
    { sqlite: 'SELECT 1', postgres: 'DROP TRIGGER step_items_changed ON steps' },
    { sqlite: 'SELECT 1', postgres: 'DROP TRIGGER step_items_deleted ON steps' },
    { sqlite: 'SELECT 1', postgres: 'DROP FUNCTION agentry_count_changed_items(), agentry_count_deleted_items()' },
    { sqlite: 'SELECT 1', postgres: rowCountFunction() },
    {
      sqlite: 'SELECT 1',
      postgres: `CREATE TRIGGER step_items_changed AFTER UPDATE OF status ON steps FOR EACH ROW
        WHEN (NEW.parent_step IS NOT NULL AND OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION agentry_count_step_items()`,
    },
    {
      sqlite: 'SELECT 1',
      postgres: `CREATE TRIGGER step_items_deleted AFTER DELETE ON steps FOR EACH ROW WHEN (OLD.parent_step IS NOT NULL) EXECUTE FUNCTION agentry_count_step_items()`,
    },
  ],
  33: [dropTrigger('run_labels_inserted', 'runs'), { sqlite: 'SELECT 1', postgres: 'DROP FUNCTION agentry_label_inserted_runs()' }, 'DROP TABLE run_labels'],
  34: ['DROP TABLE run_artifacts'],
  35: ['DROP TABLE upstream_lanes'],
  36: [
    'CREATE INDEX llm_calls_by_workflow_day ON llm_calls (tenant_id, workflow, day)',
    'CREATE INDEX llm_calls_by_tenant_day ON llm_calls (tenant_id, day)',
    'DROP INDEX llm_calls_by_workflow_at',
  ],
};

/** Rewinds an SQLite store from `from` to `to` (each migration after `to` undone and unrecorded), in one transaction. */
export function rewindSqlite(file: string, from: number, to: number): void {
  const db = new Database(file);
  try {
    db.transaction(() => {
      for (let v = from; v > to; v--) {
        // A version this build has no migration of (numbers are assigned ahead of their migrations).
        if (!MIGRATIONS.some((m) => m.version === v)) continue;
        const undo = MIGRATION_UNDO[v];
        if (undo === undefined) throw new Error(`how to undo migration ${v}: add it to test/helpers/migration-undo.ts`);
        for (const statement of undo) db.exec(undoSql(statement, 'sqlite'));
        db.prepare('DELETE FROM schema_migrations WHERE version = ?').run(v);
      }
    })();
  } finally {
    db.close();
  }
}
