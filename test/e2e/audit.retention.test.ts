/**
 * Automatic audit retention: a scheduler process started with `AGENTRY_AUDIT_RETENTION` prunes
 * the entries older than the retention when it starts (and hourly), leaving one `audit.prune`
 * anchor entry by `system` so the kept chain still verifies; on PostgreSQL two schedulers
 * starting together prune once between them.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { NewAuditEntry, Store } from '../../src/store/store.js';
import { eventually } from '../helpers/engine.js';
import { logLines, startRole, stopProcess, writeProject, type RoleProcess } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const DAY = 24 * 60 * 60 * 1000;

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

function oldEntry(n: number, at: number): NewAuditEntry {
  return {
    tenantId: 'acme',
    principal: 'ops',
    action: 'run.cancel',
    target: `run:old${n}`,
    requestId: null,
    outcome: 'success',
    clientIp: null,
    details: null,
    at,
  };
}

/** Appends three entries ten days old and one of now; returns the seq of the last old one. */
async function seed(store: Store): Promise<number> {
  const tenDaysAgo = Date.now() - 10 * DAY;
  let last = 0;
  for (let i = 1; i <= 3; i++) last = (await store.appendAudit(oldEntry(i, tenDaysAgo + i))).seq;
  await store.appendAudit(oldEntry(4, Date.now()));
  return last;
}

/** Starts schedulers on `url`, waits until each applied the retention once, and stops them. */
async function schedulersPrune(url: string, count: number): Promise<void> {
  const { dir, remove } = tempDir('agentry-retention-');
  cleanups.push(remove);
  const projectDir = writeProject(dir, [{ name: 'noop', steps: { a: { transform: 1 } } }]);
  const procs: RoleProcess[] = Array.from({ length: count }, () => startRole('scheduler', { url, projectDir, env: { AGENTRY_AUDIT_RETENTION: '1d' } }));
  cleanups.push(async () => {
    for (const proc of procs) await stopProcess(proc);
  });
  await Promise.all(procs.map((p) => p.started));
  await eventually(
    () => Promise.resolve(procs.every((p) => logLines(p.stderr, /^audit retention: pruned/).length > 0) ? true : undefined),
    30_000,
    'each scheduler to apply the retention',
  );
  for (const proc of procs) await stopProcess(proc, 'SIGTERM');
}

/** The kept chain after the schedulers pruned: one anchor entry, and it verifies. */
async function expectPrunedOnce(store: Store, lastOld: number): Promise<void> {
  const prunes = (await store.listAudit({ action: 'audit.prune', limit: 10 })).items;
  expect(prunes).toHaveLength(1);
  expect(prunes[0]).toMatchObject({ principal: 'system', tenantId: null, outcome: 'success', details: { retention_ms: DAY, pruned_through_seq: lastOld } });
  const kept = await store.auditChain(0, 1000);
  expect(kept[0]!.seq).toBe(lastOld + 1);
  expect(kept.some((e) => e.target?.startsWith('run:old') && e.at < Date.now() - DAY)).toBe(false);
  expect(kept.map((e) => e.target)).toContain('run:old4');
  expect(await new AuditService(store).verify()).toMatchObject({ ok: true, pruned_through_seq: lastOld });
}

describe('automatic audit retention', () => {
  it('a scheduler on SQLite prunes entries older than AGENTRY_AUDIT_RETENTION when it starts', async () => {
    const { dir, remove } = tempDir('agentry-retention-db-');
    cleanups.push(remove);
    const file = join(dir, 'agentry.db');
    const seeding = openSqliteStore(file);
    await seeding.migrate();
    const lastOld = await seed(seeding);
    await seeding.close();

    await schedulersPrune(`sqlite:${file}`, 1);

    const store = openSqliteStore(file);
    cleanups.push(() => store.close());
    await expectPrunedOnce(store, lastOld);
  });

  it.skipIf(!hasPostgres)('two schedulers on PostgreSQL starting together prune once between them, and the chain verifies', async () => {
    const db = await createTestDatabase();
    const store = openPostgresStore(db.url, { poolSize: 2 });
    cleanups.push(async () => {
      await store.close();
      await db.drop();
    });
    const lastOld = await seed(store);

    await schedulersPrune(db.url, 2);

    await expectPrunedOnce(store, lastOld);
  });
});
