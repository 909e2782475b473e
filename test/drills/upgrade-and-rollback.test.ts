/**
 * Drill of docs/operations/runbooks/upgrade-and-rollback.md (DEP-22, DEP-23), with the page's own
 * commands (read from its ```sh blocks) through the real CLI.
 *
 * There is no published previous release to install, so the previous release is staged: an
 * API and engine of this build write runs and take the page's first steps (`maintenance on`,
 * `workers list`) on an SQLite store, which is then rewound to schema N-1 with the newest
 * migration's undo (`test/helpers/migration-undo.ts`): the data the previous release would have
 * left, at its schema. (This build cannot serve a store at N-1 itself: it reads what migration N
 * added.)
 *
 * Upgrade: `maintenance on` through the previous release's API → `workers list` → the store left
 * at N-1 → `backup create` + `backup verify` (schema N-1) → `migrate status` (1 pending) + `migrate up` → the new
 * build's `agentry serve` → `/readyz` 200 → `maintenance off` (the run queued meanwhile finishes)
 * → `agentry smoke` passes, and the pre-upgrade runs read back with their outputs.
 * Rollback: the new release stopped → `agentry restore` of the pre-upgrade backup into a new
 * database → served, `maintenance off` (the backup was taken in maintenance mode) → the
 * pre-upgrade runs are there, the run started after the upgrade is not, and the smoke passes.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { dbFile, killAll, removeDir } from '../helpers/cli.js';
import { rewindSqlite } from '../helpers/migration-undo.js';
import { KEYS, listen, startTestApi, type TestApi } from '../helpers/server.js';
import { drillProject, pageCommand, runPageCommand, runStatuses, startDrillServer, stopGracefully, storeAt, waitForSucceeded } from '../helpers/runbook.js';

const PAGE = 'upgrade-and-rollback';
/** The schema of the release before: the newest migration but one (versions may skip a number). */
const PREVIOUS = MIGRATIONS[MIGRATIONS.length - 2]!.version;
const HELLO = {
  name: 'hello',
  input: { schema: { type: 'object', properties: { name: { type: 'string' } } } },
  steps: { greet: { transform: { greeting: 'Hello, {{ input.name }}!' } } },
  output: '{{ steps.greet.output }}',
};

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  await killAll();
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

function project(): string {
  const dir = drillProject({ 'workflows/hello.yaml': JSON.stringify(HELLO) });
  cleanups.push(() => removeDir(dir));
  return dir;
}

/** The previous release serving the store (at this build's schema until it is rewound): its API (with the drill's admin key, `admin-key-…`) and engine. */
async function previousRelease(file: string): Promise<{ api: TestApi; url: string }> {
  const api = await startTestApi({
    workflows: [HELLO],
    factory: {
      name: 'previous',
      open: async () => {
        const store = await storeAt(`sqlite:${file}`, LATEST_SCHEMA_VERSION);
        return { store, cleanup: () => store.close() };
      },
    },
  });
  return { api, url: await listen(api.app) };
}

async function startRunAt(url: string, key: string, name: string): Promise<string> {
  const response = await fetch(`${url}/v1/workflows/hello/runs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ input: { name } }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { id: string }).id;
}

describe('upgrade and rollback', { timeout: 180_000 }, () => {
  it('upgrades the previous release’s data with the page’s steps, then rolls back to the pre-upgrade backup', async () => {
    const dir = project();
    const file = dbFile(dir);
    mkdirSync(join(dir, '.agentry'));
    const local = { AGENTRY_PROJECT_DIR: dir, AGENTRY_AUTO_MIGRATE: 'false' };
    const backup = join(dir, 'pre-upgrade.agentry-backup');

    // The previous release, with runs written at its schema.
    const previous = await previousRelease(file);
    const adminKey = previous.api.auth('admin').authorization!.slice('Bearer '.length);
    const remote = { AGENTRY_URL: previous.url, AGENTRY_API_KEY: adminKey };
    const before = [await startRunAt(previous.url, adminKey, 'Ada'), await startRunAt(previous.url, adminKey, 'Grace')];
    await waitForSucceeded({ sqlite: file }, before);

    // 1–3 against the previous release: pause, check, back up.
    const on = await runPageCommand(pageCommand(PAGE, 'agentry maintenance on', 'Fix'), { version: 'next' }, { env: remote });
    expect(on.code, on.stderr).toBe(0);
    expect(on.stdout).toContain('upgrade to next');
    const queuedDuring = await startRunAt(previous.url, adminKey, 'Queued');
    const workers = await runPageCommand(pageCommand(PAGE, 'agentry workers list', 'Fix'), {}, { env: remote });
    expect(workers.stdout).toMatch(/\s0\s+\S+ ago\s+active/);
    await previous.api.close();
    rewindSqlite(file, LATEST_SCHEMA_VERSION, PREVIOUS);
    const taken = await runPageCommand(pageCommand(PAGE, 'agentry backup create', 'Fix'), { 'backup-file': backup }, { env: local });
    expect(taken.code, taken.stderr).toBe(0);
    expect(taken.stdout).toContain(`(schema ${PREVIOUS})`);
    const verified = await runPageCommand(pageCommand(PAGE, 'agentry backup verify', 'Fix'), { 'backup-file': backup }, { env: local });
    expect(verified.code, verified.stderr).toBe(0);

    // 4–6: the new build migrates, serves, resumes; the smoke passes.
    const pending = await runPageCommand(pageCommand(PAGE, 'agentry migrate status', 'Fix'), {}, { env: local });
    expect(pending.stdout).toContain(`is at migration ${PREVIOUS}; this build needs ${LATEST_SCHEMA_VERSION}: 1 pending`);
    const up = await runPageCommand(pageCommand(PAGE, 'agentry migrate up', 'Fix'), {}, { env: local });
    expect(up.code, up.stderr).toBe(0);
    const { proc: upgraded, url } = await startDrillServer(dir, { AGENTRY_AUTO_MIGRATE: 'false' });
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const served = { AGENTRY_URL: url, AGENTRY_API_KEY: KEYS.admin };
    expect((await runPageCommand(pageCommand(PAGE, 'agentry maintenance off', 'Fix'), {}, { env: served })).code).toBe(0);
    await waitForSucceeded({ sqlite: file }, [queuedDuring]);
    const smoke = await runPageCommand(pageCommand(PAGE, 'agentry smoke', 'Fix'), { 'api-url': url }, { env: { AGENTRY_API_KEY: KEYS.admin } });
    expect(smoke.code, smoke.stdout).toBe(0);
    expect((await runPageCommand(pageCommand(PAGE, 'agentry migrate status', 'Verify'), {}, { env: local })).code).toBe(0);
    const read = await runPageCommand(pageCommand(PAGE, 'agentry runs get', 'Verify'), { 'run-id': before[0]! }, { env: served });
    expect(read.code, read.stderr).toBe(0);
    expect(read.stdout).toContain('succeeded');
    expect(read.stdout).toContain('Hello, Ada!');
    const after = await startRunAt(url, KEYS.admin, 'After');
    await waitForSucceeded({ sqlite: file }, [after]);
    expect((await stopGracefully(upgraded)).code).toBe(0);

    // Roll back: the pre-upgrade backup into a new database, served again.
    const rollbackFile = join(dir, 'rollback.db');
    const restored = await runPageCommand(
      pageCommand(PAGE, 'agentry restore', 'Fix'),
      { 'backup-file': backup, 'new-database-url': `sqlite:${rollbackFile}` },
      { env: local },
    );
    expect(restored.code, restored.stderr).toBe(0);
    const { proc: rolledBack, url: rollbackUrl } = await startDrillServer(dir, { AGENTRY_DATABASE_URL: `sqlite:${rollbackFile}` });
    const rollback = { AGENTRY_URL: rollbackUrl, AGENTRY_API_KEY: KEYS.admin };
    const status = await runPageCommand('agentry maintenance status', {}, { env: rollback });
    expect(status.stdout).toContain('upgrade to next');
    expect((await runPageCommand(pageCommand(PAGE, 'agentry maintenance off', 'Fix'), {}, { env: rollback })).code).toBe(0);
    await waitForSucceeded({ sqlite: rollbackFile }, [...before, queuedDuring]);
    const runs = await runStatuses({ sqlite: rollbackFile });
    expect(runs.has(after)).toBe(false);
    const smokeAgain = await runPageCommand(pageCommand(PAGE, 'agentry smoke', 'Verify'), { 'api-url': rollbackUrl }, { env: { AGENTRY_API_KEY: KEYS.admin } });
    expect(smokeAgain.code, smokeAgain.stdout).toBe(0);
    expect((await stopGracefully(rolledBack)).code).toBe(0);
  });
});
