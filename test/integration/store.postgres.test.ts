/**
 * What only the PostgreSQL store does: migrations under an advisory lock, claims that skip
 * a locked run, unique-key races, LISTEN/NOTIFY wake-ups, riding out killed connections,
 * and hot queries that use their indexes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { openPostgresStore, resolvePostgresSettings } from '../../src/store/postgres.js';
import { IdempotencyKeyUsed, type NewRun, type Store } from '../../src/store/store.js';
import { createTestDatabase, dropTestDatabase, pgUrl } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

function newRun(id: string, extra: Partial<NewRun> = {}): NewRun {
  return {
    id,
    tenantId: 'default',
    workflow: 'wf',
    specHash: 'h',
    spec: { name: 'wf' },
    status: 'queued',
    input: {},
    output: null,
    error: null,
    priority: 0,
    createdAt: 1000,
    startedAt: null,
    finishedAt: null,
    deadlineAt: null,
    parentRunId: null,
    parentStepId: null,
    retryOf: null,
    concurrencyKey: null,
    createdBy: null,
    ...extra,
  };
}

async function until(predicate: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.runIf(hasPostgres)('postgres store', () => {
  const stores: Store[] = [];
  const databases: Array<() => Promise<void>> = [];
  const clients: pg.Client[] = [];

  async function fresh(poolSize = 5): Promise<{ store: Store; url: string; name: string }> {
    const db = await createTestDatabase();
    databases.push(db.drop);
    const store = openPostgresStore(db.url, { poolSize });
    stores.push(store);
    return { store, url: db.url, name: db.name };
  }

  async function client(url: string): Promise<pg.Client> {
    const c = new pg.Client({ connectionString: url });
    c.on('error', () => undefined);
    await c.connect();
    clients.push(c);
    return c;
  }

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.end().catch(() => undefined)));
    await Promise.all(stores.splice(0).map((s) => s.close()));
    for (const drop of databases.splice(0)) await drop();
  });

  it('migrates an empty database once when ten processes start together', async () => {
    const name = `agentry_t_mig_${Date.now().toString(36)}`;
    databases.push(() => dropTestDatabase(name));
    const admin = await client(pgUrl('postgres'));
    await admin.query(`CREATE DATABASE ${name}`);
    const ten = Array.from({ length: 10 }, () => openPostgresStore(pgUrl(name), { poolSize: 1 }));
    stores.push(...ten);
    const reports = await Promise.all(ten.map((s) => s.migrate()));
    const applied = reports.flatMap((r) => r.applied).sort((a, b) => a - b);
    expect(applied).toEqual(MIGRATIONS.map((m) => m.version));
    expect(reports.every((r) => r.current === LATEST_SCHEMA_VERSION)).toBe(true);
    const check = await client(pgUrl(name));
    const rows = await check.query('SELECT version FROM schema_migrations ORDER BY version');
    expect(rows.rows.map((r: { version: number }) => r.version)).toEqual(applied);
  });

  it('skips a run another transaction holds when asked to, and waits for it otherwise', async () => {
    const { store } = await fresh();
    await store.createRun(newRun('run_a'), [], async () => {});
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const holder = store.withRun('run_a', async () => {
      holding = true;
      await held;
      return 'holder';
    });
    await until(() => holding);
    const skipped = await store.withRun('run_a', () => Promise.resolve('claimed'), { skipLocked: true });
    expect(skipped).toBeUndefined();
    let waited = false;
    const waiter = store.withRun('run_a', () => Promise.resolve((waited = true)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(waited).toBe(false);
    release();
    expect(await holder).toBe('holder');
    await waiter;
    expect(waited).toBe(true);
    expect(await store.withRun('run_a', () => Promise.resolve('free now'), { skipLocked: true })).toBe('free now');
  });

  it('lets exactly one of many concurrent starts with the same idempotency key create a run', async () => {
    const { store } = await fresh(10);
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => store.createRun(newRun(`run_${i}`), [], () => Promise.resolve(`run_${i}`), { key: 'same', requestHash: 'h' })),
    );
    const created = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(created).toHaveLength(1);
    expect(refused.every((r) => r.reason instanceof IdempotencyKeyUsed)).toBe(true);
    const winner = (created[0] as PromiseFulfilledResult<string>).value;
    expect(refused.every((r) => (r.reason as IdempotencyKeyUsed).record.runId === winner)).toBe(true);
    expect((await store.listRuns({ limit: 20 })).items.map((r) => r.id)).toEqual([winner]);
  });

  it('carries wake-ups between processes and resubscribes after its session is killed', async () => {
    const { store: a, url, name } = await fresh();
    const b = openPostgresStore(url, { applicationName: 'agentry-wake-test' });
    stores.push(b);
    let wakes = 0;
    const unsubscribe = b.subscribeWake(() => wakes++);
    const admin = await client(pgUrl('postgres'));
    const listening = async () =>
      (
        await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'agentry-wake-test-listen' AND query LIKE 'LISTEN%'`,
          [name],
        )
      ).rows[0].n === 1;
    await until(listening);
    await a.publishWake();
    await until(() => wakes === 1);
    // Kill the listening session: it comes back by itself and wakes once (it may have missed some).
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND application_name = 'agentry-wake-test-listen'`, [name]);
    await until(() => wakes === 2);
    await until(listening);
    await a.publishWake();
    await until(() => wakes === 3);
    unsubscribe();
  });

  it('rides out connections killed under it, and reports a database that stays down as store_unavailable', async () => {
    const { store, name } = await fresh();
    await store.createRun(newRun('run_k'), [], async () => {});
    expect((await store.getRun('run_k'))?.id).toBe('run_k');
    const admin = await client(pgUrl('postgres'));
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [name]);
    expect((await store.getRun('run_k'))?.id).toBe('run_k');
    expect(await store.withRun('run_k', (tx) => Promise.resolve(tx.run.status))).toBe('queued');

    const gone = openPostgresStore('postgres://postgres@127.0.0.1:1/nothing?connect_timeout=1');
    stores.push(gone);
    await expect(gone.getRun('x')).rejects.toMatchObject({ code: 'store_unavailable', retryable: true });
  });

  it('reads timestamps as numbers and takes its settings from the URL', async () => {
    const { store, url } = await fresh();
    await store.createRun(newRun('run_n', { createdAt: 1_700_000_000_123 }), [], async () => {});
    const run = await store.getRun('run_n');
    expect(run?.createdAt).toBe(1_700_000_000_123);
    const settings = resolvePostgresSettings(`${url}?pool_size=3&statement_timeout=2s&connect_timeout=4&application_name=x`);
    expect(settings).toMatchObject({ poolSize: 3, statementTimeoutMs: 2000, connectTimeoutMs: 4000, applicationName: 'x', connectionString: url });
    expect(resolvePostgresSettings(`${url}?pool_size=3`, { poolSize: 7 }).poolSize).toBe(7);
    expect(resolvePostgresSettings('postgres://u:secret@h/db?statement_timeout=1s').location).toBe('postgres://u@h/db');
    expect(() => resolvePostgresSettings(`${url}?pool_size=zero`)).toThrow(/pool_size/);
    const custom = openPostgresStore(`${url}?statement_timeout=1234ms&application_name=agentry-settings`);
    stores.push(custom);
    const probe = await client(url);
    await custom.ping();
    const shown = await probe.query(`SELECT setting FROM pg_settings WHERE name = 'statement_timeout'`);
    expect(shown.rows[0].setting).toBe('0'); // our own client: the default
    const seen = await probe.query(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = 'agentry-settings'`);
    expect(seen.rows[0].n).toBeGreaterThanOrEqual(1);
  });

  it('answers the hot queries from their indexes', async () => {
    const { url } = await fresh();
    const c = await client(url);
    await c.query('SET enable_seqscan = off');
    const plans: Record<string, string> = {
      steps_queued_due: `SELECT run_id, step_id FROM steps WHERE status = 'queued' AND available_at <= 1 ORDER BY priority DESC, available_at LIMIT 10`,
      steps_waiting_due: `SELECT run_id, step_id FROM steps WHERE status = 'waiting' AND available_at <= 1 ORDER BY priority DESC, available_at LIMIT 10`,
      steps_next_due: `SELECT available_at FROM steps WHERE status IN ('queued', 'waiting') AND available_at IS NOT NULL ORDER BY available_at LIMIT 1`,
      steps_leases: `SELECT run_id FROM steps WHERE status = 'running' AND lease_expires_at < 1 ORDER BY lease_expires_at LIMIT 100`,
      runs_by_deadline: `SELECT id FROM runs WHERE deadline_at IS NOT NULL AND deadline_at < 1 AND status IN ('queued', 'running', 'waiting') ORDER BY deadline_at LIMIT 100`,
      events_pkey: `SELECT * FROM events WHERE run_id = 'r' AND seq > 0 ORDER BY seq LIMIT 100`,
      runs_by_created: `SELECT * FROM runs WHERE tenant_id = 'default' AND (created_at, id) < (5, 'x') ORDER BY created_at DESC, id DESC LIMIT 51`,
      runs_by_workflow: `SELECT * FROM runs WHERE tenant_id = 'default' AND workflow = 'wf' ORDER BY created_at DESC, id DESC LIMIT 51`,
    };
    for (const [index, query] of Object.entries(plans)) {
      const plan = (await c.query(`EXPLAIN ${query}`)).rows.map((r: Record<string, string>) => r['QUERY PLAN']).join('\n');
      expect(plan, query).toContain(index);
    }
  });
});
