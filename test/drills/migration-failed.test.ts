/**
 * Drill of docs/operations/runbooks/migration-failed.md, with the page's own commands (read from
 * its ```sh blocks) through the real CLI:
 *
 * - PostgreSQL: a database a previous release left at schema N-1, where an object the newest
 *   migration creates was already made by hand → `agentry migrate up` fails `migration_failed`
 *   naming the migration and "already exists", nothing of it applied; a new worker refuses
 *   (`migrations_pending`); `migrate status` shows N-1 with one pending → the object dropped,
 *   `agentry migrate up` applies it, `migrate status` is up to date and the worker starts.
 * - SQLite: the schema is newer than the build (a binary rolled back without its database) →
 *   `agentry serve` refuses `schema_too_new` naming both versions, `migrate status` says
 *   `newer` → `agentry restore <backup> --to <new-database-url>` of the backup taken before the
 *   upgrade, into a new database → the schema is this build's, serve starts and the runs of the backup are there.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { dbFile, killAll, removeDir, runCli, startCli, waitForOutput } from '../helpers/cli.js';
import { query } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';
import { drillProject, pageCommand, runPageCommand, startDrillServer, startRun, stopGracefully, storeAt, waitForSucceeded } from '../helpers/runbook.js';

const PAGE = 'migration-failed';
const LATEST = LATEST_SCHEMA_VERSION;
const NEWEST = MIGRATIONS.at(-1)!;
/** The version before the newest (numbers are assigned ahead of their migrations: not always the latest less one). */
const PREVIOUS = MIGRATIONS.at(-2)!.version;

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

function project(): string {
  const dir = drillProject({ 'workflows/hello.yaml': JSON.stringify({ name: 'hello', steps: { greet: { transform: { message: 'hi' } } } }) });
  cleanups.push(() => removeDir(dir));
  return dir;
}

/**
 * A hand-made object in the way of the newest migration's first statement, and the SQL that
 * removes it. Teach it the migration's kind when a new one starts otherwise.
 */
function conflictWithNewest(): { create: string; drop: string; name: string; exists: string } {
  const first = NEWEST.postgres[0]!;
  const index = /CREATE (?:UNIQUE )?INDEX (\w+) ON \w+/i.exec(first);
  if (index) return { name: index[1]!, exists: `"${index[1]}" already exists`, create: first, drop: `DROP INDEX ${index[1]}` };
  const table = /CREATE TABLE (\w+)/i.exec(first);
  if (table)
    return { name: table[1]!, exists: `"${table[1]}" already exists`, create: `CREATE TABLE ${table[1]} (hand_made INTEGER)`, drop: `DROP TABLE ${table[1]}` };
  const column = /ALTER TABLE (\w+) ADD COLUMN (\w+)/i.exec(first);
  if (column)
    return {
      name: column[2]!,
      exists: `column "${column[2]}" of relation "${column[1]}" already exists`,
      create: `ALTER TABLE ${column[1]} ADD COLUMN ${column[2]} INTEGER`,
      drop: `ALTER TABLE ${column[1]} DROP COLUMN ${column[2]}`,
    };
  throw new Error(`migration ${NEWEST.version} starts with a statement this drill cannot stage a conflict for: ${first}`);
}

describe('migration failed', { timeout: 120_000 }, () => {
  it.runIf(hasPostgres)(
    'an object of the newest migration already exists: migrate up fails whole, the worker refuses; dropped, migrate up applies it',
    async () => {
      const db = await createTestDatabase('agentry_drill_', { empty: true });
      cleanups.push(() => db.drop());
      const store = await storeAt(db.url, PREVIOUS);
      await store.close();
      const conflict = conflictWithNewest();
      await query(db.url, conflict.create);
      const env = { AGENTRY_PROJECT_DIR: project(), AGENTRY_DATABASE_URL: db.url };

      // The deploy's migrate step fails, naming the migration and the database's reason.
      const failed = await runPageCommand(pageCommand(PAGE, 'agentry migrate up', 'Diagnose'), {}, { env });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain(`error [migration_failed]: migration ${NEWEST.version} (${NEWEST.name}) failed:`);
      expect(failed.stderr).toContain(conflict.exists);
      // The new build's worker refuses to start on it.
      const worker = await runCli(['start', 'worker'], { env });
      expect(worker.code).toBe(1);
      expect(worker.stderr).toContain('error [migrations_pending]');

      const status = await runPageCommand(pageCommand(PAGE, 'agentry migrate status', 'Diagnose'), {}, { env });
      expect(status.code).toBe(1);
      expect(status.stdout).toContain(`is at migration ${PREVIOUS}; this build needs ${LATEST}: 1 pending`);
      // Nothing of the failed migration was applied.
      expect(await query(db.url, 'SELECT max(version) AS v FROM schema_migrations')).toEqual([{ v: PREVIOUS }]);

      await query(db.url, conflict.drop);
      const up = await runPageCommand(pageCommand(PAGE, 'agentry migrate up', 'Fix'), {}, { env });
      expect(up.code, up.stderr).toBe(0);
      expect(up.stdout).toContain(`applied migrations ${NEWEST.version} (from ${PREVIOUS} to ${LATEST})`);

      const verified = await runPageCommand(pageCommand(PAGE, 'agentry migrate status', 'Verify'), {}, { env });
      expect(verified.code).toBe(0);
      expect(verified.stdout).toContain(`is at migration ${LATEST}, the latest of this build: up to date.`);
      const started = startCli(['start', 'worker'], { env: { ...env, AGENTRY_LOG_LEVEL: 'info' } });
      await waitForOutput(started, (stderr) => stderr.includes('engine started'));
      expect((await stopGracefully(started)).code).toBe(0);
    },
  );

  it('a schema newer than the build: serve refuses naming both versions; restoring the pre-upgrade backup recovers', async () => {
    const dir = project();
    const env = { AGENTRY_PROJECT_DIR: dir };
    const file = dbFile(dir);
    const ids = [await startRun('hello', env), await startRun('hello', env)];
    const backup = join(dir, 'pre-upgrade.agentry-backup');
    const taken = await runCli(['backup', 'create', '--out', backup], { env });
    expect(taken.code, taken.stderr).toBe(0);
    // A newer build migrated it; then the binary was rolled back without the database.
    const sqlite = new Database(file);
    sqlite.prepare(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'from the newer build', 1)`).run(LATEST + 1);
    sqlite.close();

    const refused = await runCli(['serve', '--no-auth', '--port', '0'], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`"code":"schema_too_new"`);
    expect(refused.stderr).toContain(`database schema version ${LATEST + 1} is newer than this build supports (${LATEST})`);
    const status = await runPageCommand(pageCommand(PAGE, 'agentry migrate status', 'Diagnose'), {}, { env });
    expect(status.code).toBe(1);
    expect(status.stderr).toContain('error [schema_too_new]');

    // Restored into a new database, which the processes then use.
    const rollback = `sqlite:${join(dir, 'rollback.db')}`;
    const restored = await runPageCommand(pageCommand(PAGE, 'agentry restore', 'Fix'), { 'backup-file': backup, 'new-database-url': rollback }, { env });
    expect(restored.code, restored.stderr).toBe(0);
    const rolledBack = { ...env, AGENTRY_DATABASE_URL: rollback };
    expect((await runPageCommand(pageCommand(PAGE, 'agentry migrate status', 'Verify'), {}, { env: rolledBack })).code).toBe(0);
    const { proc: server } = await startDrillServer(dir, { AGENTRY_DATABASE_URL: rollback });
    await waitForSucceeded({ sqlite: join(dir, 'rollback.db') }, ids);
    const queued = await runPageCommand(pageCommand(PAGE, 'agentry runs list --status queued', 'Verify'), {}, { env: rolledBack });
    for (const id of ids) expect(queued.stdout).not.toContain(id);
    expect((await stopGracefully(server)).code).toBe(0);
  });
});
