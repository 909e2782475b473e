/**
 * Automatic run retention: a scheduler process started with `AGENTRY_RETENTION_SUCCEEDED`
 * deletes the succeeded runs that ended longer ago when it starts, except those of a workflow
 * whose own `retention:` keeps them longer, runs that have not ended, and parents of runs that
 * have not; the LLM call ledger keeps their usage.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { NewRun, Store } from '../../src/store/store.js';
import type { RunStatus } from '../../src/types.js';
import { eventually } from '../helpers/engine.js';
import { logLines, startRole, stopProcess, writeProject } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const DAY = 24 * 60 * 60 * 1000;

let cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const fn of cleanups.reverse()) await fn();
  cleanups = [];
});

function run(id: string, workflow: string, status: RunStatus, endedDaysAgo: number | null, parentRunId: string | null = null): NewRun {
  const at = Date.now() - (endedDaysAgo ?? 10) * DAY;
  return {
    id,
    tenantId: 'default',
    workflow,
    specHash: 'h',
    spec: { name: workflow },
    status,
    input: {},
    output: null,
    error: null,
    priority: 0,
    createdAt: at - 1000,
    startedAt: at - 1000,
    finishedAt: endedDaysAgo === null ? null : at,
    deadlineAt: null,
    parentRunId,
    parentStepId: parentRunId === null ? null : 'a',
    retryOf: null,
    concurrencyKey: null,
    createdBy: null,
  };
}

async function seed(store: Store): Promise<void> {
  const runs = [
    run('old', 'noop', 'succeeded', 10),
    run('recent', 'noop', 'succeeded', 0.5),
    run('kept_by_workflow', 'keep', 'succeeded', 10),
    run('old_failed', 'noop', 'failed', 10),
    run('parent', 'noop', 'succeeded', 10),
    run('child', 'noop', 'waiting', null, 'parent'),
  ];
  for (const r of runs)
    await store.createRun(r, [{ runId: r.id, stepId: 'a', kind: 'transform', status: 'succeeded' }], (tx) => tx.appendEvent('run.created', {}));
  await store.recordCall({
    id: 'call_old',
    tenantId: 'default',
    runId: 'old',
    stepId: 'a',
    workflow: 'noop',
    group: 'g',
    provider: 'mock',
    model: 'm',
    inputTokens: 3,
    outputTokens: 4,
    costUsd: 0.5,
    latencyMs: 1,
    outcome: 'ok',
    at: Date.now() - 10 * DAY,
  });
}

async function schedulerPrunes(url: string): Promise<void> {
  const { dir, remove } = tempDir('agentry-run-retention-');
  cleanups.push(remove);
  const projectDir = writeProject(dir, [
    { version: 'v1', name: 'noop', steps: { a: { transform: 1 } } },
    { version: 'v1', name: 'keep', retention: { succeeded: '365d' }, steps: { a: { transform: 1 } } },
  ]);
  const proc = startRole('scheduler', { url, projectDir, env: { AGENTRY_RETENTION_SUCCEEDED: '1d' } });
  cleanups.push(() => stopProcess(proc));
  await proc.started;
  await eventually(
    () => Promise.resolve(logLines(proc.stderr, /^retention: pruned/).length > 0 ? true : undefined),
    30_000,
    'the scheduler to apply retention',
  );
  await stopProcess(proc, 'SIGTERM');
}

async function expectPruned(store: Store): Promise<void> {
  expect(await store.getRun('old')).toBeUndefined();
  expect(await store.getSteps('old')).toEqual([]);
  expect(await store.listEvents('old', 0, 10)).toEqual([]);
  for (const id of ['recent', 'kept_by_workflow', 'old_failed', 'parent', 'child']) expect((await store.getRun(id))?.id).toBe(id);
  expect(await store.spent({ scope: 'run', runId: 'old' })).toMatchObject({ tokens: 7 });
  const [entry] = (await store.listAudit({ action: 'runs.retention', limit: 5 })).items;
  expect(entry).toMatchObject({ principal: 'system', details: { runs: 1 } });
}

describe('automatic run retention', () => {
  it('a scheduler on SQLite prunes old succeeded runs when it starts, honouring workflow overrides and unended relatives', async () => {
    const { dir, remove } = tempDir('agentry-run-retention-db-');
    cleanups.push(remove);
    const file = join(dir, 'agentry.db');
    const seeding = openSqliteStore(file);
    await seeding.migrate();
    await seed(seeding);
    await seeding.close();

    await schedulerPrunes(`sqlite:${file}`);

    const store = openSqliteStore(file);
    cleanups.push(() => store.close());
    await expectPruned(store);
  });

  it.skipIf(!hasPostgres)('a scheduler on PostgreSQL does the same', async () => {
    const db = await createTestDatabase();
    const store = openPostgresStore(db.url, { poolSize: 2 });
    cleanups.push(async () => {
      await store.close();
      await db.drop();
    });
    await seed(store);
    await schedulerPrunes(db.url);
    await expectPruned(store);
  });
});
