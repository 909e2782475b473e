/**
 * PostgreSQL's named prepared statements (postgres-deferred.ts): a run transaction's lock and
 * steps read, its writes (a multi-row INSERT as one recordset text) and the claim loop's
 * due-steps read are prepared once per connection and then sent by name; `?prepared_statements=off`
 * (PgBouncer in transaction mode) sends them as text; a connection whose prepared statements
 * went out of step with its session (a migration changed a table under them) is replaced; a
 * statement is prepared again after a number of executions, so a plan made while a table was
 * empty does not scan it for ever after.
 */
import { afterEach, describe, expect, it } from 'vitest';
import pg from 'pg';
import { deferringPool, MANY, preparedName, REPREPARE_FIRST } from '../../src/store/postgres-deferred.js';
import { openPostgresStore, resolvePostgresSettings } from '../../src/store/postgres.js';
import type { Store } from '../../src/store/store.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, newRunRecord } from '../helpers/store.js';

const newRun = (id: string) => newRunRecord(id);

/** Every statement text the `pg` clients of this process send while `fn` runs. */
async function sent<T>(fn: () => Promise<T>): Promise<{ result: T; texts: string[] }> {
  const texts: string[] = [];
  const prototype = pg.Client.prototype as unknown as { query: (this: pg.Client, ...args: unknown[]) => unknown };
  const query = prototype.query;
  prototype.query = function (this: pg.Client, ...args: unknown[]) {
    if (typeof args[0] === 'string') texts.push(args[0]);
    return query.apply(this, args);
  };
  try {
    return { result: await fn(), texts };
  } finally {
    prototype.query = query;
  }
}

describe.runIf(hasPostgres)('postgres prepared statements', () => {
  const stores: Store[] = [];
  const drops: Array<() => Promise<void>> = [];

  async function fresh(query = ''): Promise<{ store: Store; url: string }> {
    const db = await createTestDatabase();
    drops.push(db.drop);
    const store = openPostgresStore(`${db.url}${query}`, { poolSize: 1 });
    stores.push(store);
    await store.createRun(newRun('run_a'), [{ runId: 'run_a', stepId: 'only', kind: 'transform', status: 'queued' }], async () => {});
    return { store, url: db.url };
  }

  const stepsOf = (store: Store) => store.withRun('run_a', async (tx) => (await tx.steps()).map((s) => `${s.stepId}:${s.status}`));

  afterEach(async () => {
    await Promise.all(stores.splice(0).map((s) => s.close()));
    for (const drop of drops.splice(0)) await drop();
  });

  it('prepares the lock and steps read once per connection and then sends them by name', async () => {
    const { store } = await fresh();
    const { result, texts } = await sent(async () => [await stepsOf(store), await stepsOf(store), await stepsOf(store)]);
    expect(result).toEqual([['only:queued'], ['only:queued'], ['only:queued']]);
    const prepares = texts.filter((t) => t.startsWith('PREPARE agentry_'));
    // The lock and the steps read, each in two forms: a run's first transaction in this process reads
    // all of it, later ones what the run cache (run-cache.ts) does not hold. Each prepared once, on the pool's one connection.
    expect(prepares).toHaveLength(4);
    expect(new Set(prepares).size).toBe(4);
    expect(prepares.join('\n')).toMatch(/FROM runs WHERE id = \$1 FOR UPDATE/);
    const executes = texts.filter((t) => /EXECUTE agentry_\w+\('run_a'\)/.test(t));
    expect(executes).toHaveLength(3);
  });

  it("prepares the claim loop's due-steps read once per connection, and sends it as text with ?prepared_statements=off", async () => {
    const due = (store: Store) => store.withRun('run_a', (tx) => tx.updateStep('only', { availableAt: 1 }));
    const { store } = await fresh();
    await due(store);
    const { result, texts } = await sent(async () => [await store.dueSteps(Date.now(), 10, 'w1'), await store.dueSteps(Date.now(), 10, 'w1')]);
    expect(result.map((due) => due.map((d) => `${d.runId}/${d.stepId}`))).toEqual([['run_a/only'], ['run_a/only']]);
    expect(texts.filter((t) => /^PREPARE agentry_\w+ AS SELECT run_id, step_id, priority FROM/.test(t))).toHaveLength(1);
    expect(texts.filter((t) => /^EXECUTE agentry_\w+\(\d+, 10, \d+, 10, 'w1'\)$/.test(t))).toHaveLength(2);
    const off = (await fresh('?prepared_statements=off')).store;
    await due(off);
    const inlined = await sent(() => off.dueSteps(Date.now(), 10, 'w1'));
    expect(inlined.result.map((d) => d.stepId)).toEqual(['only']);
    expect(inlined.texts.some((t) => /PREPARE|EXECUTE/.test(t))).toBe(false);
  });

  it("prepares a run transaction's writes once per text and sends them as EXECUTE with the COMMIT; a many-row INSERT as one recordset text", async () => {
    const { store } = await fresh();
    const write = (n: number, events = 1) =>
      store.withRun('run_a', async (tx) => {
        await tx.updateStep('only', { availableAt: 1000 + n, state: { n } });
        for (let i = 0; i < events; i++) await tx.appendEvent('step.started', { n, i }, 'only');
      });
    // Prepare the reads (a run's first transaction in this process reads it all, later ones less) and the writes' texts.
    await write(0);
    await write(1);
    const { texts } = await sent(async () => {
      await write(2);
      await write(3);
    });
    // Nothing new to prepare: the step update and the event insert are the texts of the first transaction.
    expect(texts.filter((t) => t.startsWith('PREPARE '))).toEqual([]);
    const commits = texts.filter((t) => /COMMIT\s*$/.test(t));
    expect(commits).toHaveLength(2);
    for (const [i, commit] of commits.entries()) {
      expect(commit).not.toMatch(/UPDATE steps|INSERT INTO events/);
      expect(commit).toMatch(new RegExp(`EXECUTE agentry_\\w+\\(${1002 + i}, '\\{"n":${2 + i}\\}'`));
    }
    // Ten events, then three: one text for any row count, their rows one JSON parameter, prepared once.
    const many = await sent(async () => {
      await write(4, 10);
      await write(5, 3);
    });
    const prepared = many.texts.filter((t) => t.startsWith('PREPARE '));
    expect(prepared).toHaveLength(1);
    expect(prepared[0]).toMatch(/INSERT INTO events \(run_id, seq, type, step_id, data, at\) SELECT .* FROM json_populate_recordset\(NULL::events, \$1\)/);
    expect(many.texts.some((t) => /VALUES/.test(t))).toBe(false);
    const step = await store.withRun('run_a', async (tx) => (await tx.steps()).find((s) => s.stepId === 'only'));
    expect([step?.availableAt, step?.state]).toEqual([1005, { n: 5 }]);
    const events = (await store.listEvents('run_a', 0, 100)).filter((e) => e.type === 'step.started');
    expect(events.map((e) => e.data)).toEqual([
      { n: 0, i: 0 },
      { n: 1, i: 0 },
      { n: 2, i: 0 },
      { n: 3, i: 0 },
      ...Array.from({ length: 10 }, (_, i) => ({ n: 4, i })),
      ...Array.from({ length: 3 }, (_, i) => ({ n: 5, i })),
    ]);
  });

  it('writes the rows of a recordset INSERT as they were given: quotes, backslashes, line breaks, other scripts, nulls, large numbers', async () => {
    const { store } = await fresh();
    const tricky = [`it's`, 'back\\slash \\\\ "quoted"', 'line\nbreak\ttab', 'ünïcødé ☃ 𝄞', '{"json": [1, "x"]}', '$1 $2 -- /* not a comment */', ''];
    const { texts } = await sent(() =>
      store.withRun('run_a', async (tx) => {
        for (const text of tricky) await tx.appendEvent('step.guardrail', { text, at: 2 ** 52 + 1, none: null }, text === '' ? null : 'only');
      }),
    );
    expect(texts.some((t) => /PREPARE agentry_\w+ AS INSERT INTO events .* json_populate_recordset/.test(t))).toBe(true);
    const events = (await store.listEvents('run_a', 0, 100)).filter((e) => e.type === 'step.guardrail');
    expect(events.map((e) => [e.data, e.stepId])).toEqual(tricky.map((text) => [{ text, at: 2 ** 52 + 1, none: null }, text === '' ? null : 'only']));
  });

  it('writes a row whose text holds half a surrogate pair (which PostgreSQL refuses in JSON) as a literal, as before', async () => {
    const { store } = await fresh();
    await store.withRun('run_a', async (tx) => {
      await tx.appendEvent('step.guardrail', { n: 1 }, 'only');
      await tx.appendEvent('step.guardrail', { n: 2 }, 'half \ud800 pair');
    });
    const events = (await store.listEvents('run_a', 0, 100)).filter((e) => e.type === 'step.guardrail');
    expect(events.map((e) => [e.data, e.stepId])).toEqual([
      [{ n: 1 }, 'only'],
      [{ n: 2 }, 'half \ufffd pair'],
    ]);
  });

  it('has no json or jsonb column, into which a recordset INSERT would write a string as a JSON string', async () => {
    const { url } = await fresh();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query(
        `SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' AND data_type IN ('json', 'jsonb')`,
      );
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }
  });

  it('sends the writes inlined with ?prepared_statements=off', async () => {
    const { store } = await fresh('?prepared_statements=off');
    const { texts } = await sent(() => store.withRun('run_a', (tx) => tx.updateStep('only', { availableAt: 7 })));
    expect(texts.some((t) => /PREPARE|EXECUTE/.test(t))).toBe(false);
    expect(texts.some((t) => /UPDATE steps SET "available_at" = 7/.test(t))).toBe(true);
  });

  it('sends them as text with ?prepared_statements=off, and refuses a value that is not on or off', async () => {
    const { store, url } = await fresh('?prepared_statements=off');
    const { result, texts } = await sent(() => stepsOf(store));
    expect(result).toEqual(['only:queued']);
    expect(texts.some((t) => /PREPARE|EXECUTE/.test(t))).toBe(false);
    expect(texts.some((t) => t.includes(`FROM runs WHERE id = 'run_a' FOR UPDATE`))).toBe(true);
    expect(resolvePostgresSettings(url).preparedStatements).toBe(true);
    expect(resolvePostgresSettings(`${url}?prepared_statements=off`, { preparedStatements: true }).preparedStatements).toBe(true);
    expect(() => resolvePostgresSettings(`${url}?prepared_statements=maybe`)).toThrow(/prepared_statements must be on or off/);
  });

  it('replaces a connection whose prepared statements a migration outdated: one transaction fails, the next works', async () => {
    const { store, url } = await fresh();
    expect(await stepsOf(store)).toEqual(['only:queued']); // prepares the first-sight lock, a `SELECT *`
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      // What a newer version's migration does while this process runs: `SELECT *` now has another column.
      await other.query('ALTER TABLE runs ADD COLUMN added_later text');
    } finally {
      await other.end();
    }
    // A run this process has not seen yet goes through the outdated `SELECT *`.
    await store.createRun(newRun('run_b'), [{ runId: 'run_b', stepId: 'only', kind: 'transform', status: 'queued' }], async () => {});
    const stepsOfB = () => store.withRun('run_b', async (tx) => (await tx.steps()).map((s) => `${s.stepId}:${s.status}`));
    await expect(stepsOfB()).rejects.toThrow(/cached plan must not change result type/);
    expect(await stepsOfB()).toEqual(['only:queued']);
    expect(await stepsOfB()).toEqual(['only:queued']);
    expect(await stepsOf(store)).toEqual(['only:queued']);
  });

  it('prepares a statement again after REPREPARE_FIRST executions: a plan made while attempts was empty stops scanning it', async () => {
    const { url } = await fresh();
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    const client = await deferringPool(pool).connect();
    const query = (sqlText: string, values?: unknown[]) =>
      (client.query as unknown as (t: string, v?: unknown[]) => Promise<{ rows: unknown[] }>).call(client, sqlText, values);
    try {
      // The read of a run's steps with their current attempt's start, as sql/steps.ts writes it.
      const text = `SELECT s.step_id, a.started_at FROM steps s
        LEFT JOIN attempts a ON a.run_id = s.run_id AND a.step_id = s.step_id AND a.attempt = s.attempt
        WHERE s.run_id IN ($1) AND s.parent_step IS NULL ORDER BY s.run_id, s.step_id`;
      const read = async (times: number) => {
        for (let i = 0; i < times; i++) expect((await query(MANY, [{ text, values: ['run_a'] }])).rows).toEqual([[{ step_id: 'only', started_at: null }]]);
      };
      const plan = async () =>
        (await query(`EXPLAIN EXECUTE ${preparedName(text)}('run_a')`)).rows.map((r) => (r as Record<string, string>)['QUERY PLAN']).join('\n');
      // Statistics taken while no step had run yet: the generic plan (from the sixth execution on) scans attempts.
      await query('ANALYZE attempts');
      await read(10);
      expect(await plan()).toMatch(/Seq Scan on attempts/);
      await query(
        `INSERT INTO attempts (run_id, step_id, attempt, status, started_at) SELECT 'run_a', 'done_' || g, 1, 'succeeded', 0 FROM generate_series(1, 20000) g`,
      );
      const { texts } = await sent(() => read(REPREPARE_FIRST));
      expect(texts.filter((t) => t.startsWith('DEALLOCATE agentry_'))).toHaveLength(1);
      expect(texts.filter((t) => t.startsWith('PREPARE agentry_'))).toHaveLength(1);
      await read(10);
      expect(await plan()).toMatch(/Index Scan using attempts_pkey on attempts/);
    } finally {
      client.release();
      await pool.end();
    }
  });
});
