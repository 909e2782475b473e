/**
 * The event query across runs (`EventService.list`, `GET /v1/events`), on every store: runs of
 * two workflows in two tenants, their events at known times; filtered by workflow, type (exact and
 * families), run, step and time window, paged by cursor; another tenant's events never show,
 * nor another key's runs' to a key that reaches only its own; a page looks at a bounded stretch
 * of the window; bad input is refused. SQLite's plans of the query walk the time index and look
 * up each event's run by id. Then the route over HTTP: its items, and 400 problems naming the
 * parameter.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, type CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EVERY_RUN, type Caller } from '../../src/app/caller.js';
import type { WorkflowEventDto } from '../../src/app/dto/events.js';
import { EventService, type EventListQuery } from '../../src/app/events.js';
import { AgentryError } from '../../src/lib/errors.js';
import type { Db } from '../../src/store/sql/dialect.js';
import { queryEvents } from '../../src/store/sql/event-query.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { EventQuery, NewRun, Store } from '../../src/store/store.js';
import type { EventType } from '../../src/types.js';
import { startTestApi, type TestApi } from '../helpers/server.js';
import { storeFactories, tempDir } from '../helpers/store.js';

/** 2026-05-01 14:00 UTC; `at(m)` is m minutes later. */
const T0 = Date.UTC(2026, 4, 1, 14, 0, 0);
const at = (minutes: number): number => T0 + minutes * 60_000;

function newRun(id: string, tenantId: string, workflow: string, createdBy: string, createdAt: number): NewRun {
  return {
    id,
    tenantId,
    workflow,
    specHash: 'h',
    spec: { name: workflow },
    status: 'running',
    input: {},
    output: null,
    error: null,
    priority: 0,
    createdAt,
    startedAt: null,
    finishedAt: null,
    deadlineAt: null,
    parentRunId: null,
    parentStepId: null,
    retryOf: null,
    concurrencyKey: null,
    createdBy,
  };
}

/** Each run's events: [minute, type, step]. `o3` is after 15:00, outside the window of the hour. */
const RUNS = {
  o1: {
    tenant: 'acme',
    workflow: 'orders',
    by: 'alice',
    events: [
      [0, 'run.created'],
      [1, 'step.started', 'charge'],
      [2, 'step.failed', 'charge'],
      [2, 'run.failed'],
    ],
  },
  o2: {
    tenant: 'acme',
    workflow: 'orders',
    by: 'bob',
    events: [
      [10, 'run.created'],
      [11, 'step.started', 'charge'],
      [12, 'step.succeeded', 'charge'],
      [12, 'run.succeeded'],
    ],
  },
  b1: {
    tenant: 'acme',
    workflow: 'billing',
    by: 'alice',
    events: [
      [20, 'run.created'],
      [21, 'step.started', 'invoice'],
      [22, 'step.failed', 'invoice'],
      [22, 'run.failed'],
    ],
  },
  g1: {
    tenant: 'globex',
    workflow: 'orders',
    by: 'alice',
    events: [
      [30, 'run.created'],
      [31, 'step.failed', 'charge'],
      [31, 'run.failed'],
    ],
  },
  o3: {
    tenant: 'acme',
    workflow: 'orders',
    by: 'alice',
    events: [
      [65, 'run.created'],
      [66, 'run.failed'],
    ],
  },
} as const satisfies Record<string, { tenant: string; workflow: string; by: string; events: ReadonlyArray<readonly [number, EventType, string?]> }>;
type RunName = keyof typeof RUNS;

/** `run:type` of each event of `runs`, in time order, as the query should list them. */
function expected(filter: (run: RunName, type: string, minute: number) => boolean): string[] {
  const all = Object.entries(RUNS).flatMap(([run, r]) => r.events.map(([minute, type], i) => ({ run, type, minute, i })));
  return all
    .filter((e) => filter(e.run as RunName, e.type, e.minute))
    .sort((a, b) => a.minute - b.minute || a.run.localeCompare(b.run) || a.i - b.i)
    .map((e) => `${e.run}:${e.type}`);
}

const caller = (tenantId: string | undefined, name = 'ops', reach: 'own' | 'all' = 'all'): Caller => ({
  name,
  roles: ['operator'],
  runAccess: reach === 'all' ? EVERY_RUN : { read: 'own', write: 'own' },
  ...(tenantId === undefined ? {} : { tenantId }),
});
const acme = caller('acme');

const names = (items: readonly WorkflowEventDto[]): string[] => items.map((e) => `${e.run_id}:${e.type}`);

describe.each(storeFactories)('the event query on $name', (factory) => {
  let store: Store;
  let cleanup: () => Promise<void>;
  let events: EventService;
  let clock = T0;

  /** Every page of `query` for `who`, following the cursor. */
  async function all(who: Caller, query: Omit<EventListQuery, 'limit' | 'cursor'>, limit = 1000): Promise<WorkflowEventDto[]> {
    const items: WorkflowEventDto[] = [];
    let cursor: string | undefined;
    do {
      const page = await events.list(who, { ...query, limit, ...(cursor === undefined ? {} : { cursor }) });
      items.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor !== undefined);
    return items;
  }

  beforeAll(async () => {
    ({ store, cleanup } = await factory.open({ now: () => clock }));
    events = new EventService(store);
    // Appended minute by minute across the runs, as they would happen.
    const timeline = Object.entries(RUNS)
      .flatMap(([run, r]) => r.events.map(([minute, type, step]) => ({ run: run as RunName, minute, type, step })))
      .sort((a, b) => a.minute - b.minute);
    for (const e of timeline) {
      clock = at(e.minute);
      const r = RUNS[e.run];
      if (e.type === 'run.created') {
        await store.createRun(newRun(e.run, r.tenant, r.workflow, r.by, clock), [], (tx) => tx.appendEvent(e.type, {}, e.step ?? null));
      } else {
        await store.withRun(e.run, (tx) =>
          tx.appendEvent(e.type, e.type.endsWith('failed') ? { error: { code: 'boom', message: 'card declined' } } : {}, e.step ?? null),
        );
      }
    }
  }, 60_000);
  afterAll(async () => {
    await cleanup();
  });

  it("lists a workflow's events in time order, each the per-run event with its run and workflow", async () => {
    const page = await events.list(acme, { workflow: 'orders', limit: 100 });
    expect(names(page.items)).toEqual(expected((run) => RUNS[run].tenant === 'acme' && RUNS[run].workflow === 'orders'));
    expect(page.next_cursor).toBeNull();
    expect(page.items[2]).toEqual({
      run_id: 'o1',
      workflow: 'orders',
      seq: 3,
      type: 'step.failed',
      step_id: 'charge',
      at: new Date(at(2)).toISOString(),
      data: { error: { code: 'boom', message: 'card declined' } },
    });
    // The same event as the run's own history shows it.
    const [perRun] = (await store.listEvents('o1', 2, 1)).map((e) => ({ seq: e.seq, type: e.type, step_id: e.stepId, data: e.data }));
    expect(page.items[2]).toMatchObject(perRun!);
  });

  it('filters by type: exact types and families, comma-separated, any of them', async () => {
    expect(names(await all(acme, { type: 'run.failed' }))).toEqual(['o1:run.failed', 'b1:run.failed', 'o3:run.failed']);
    expect(names(await all(acme, { type: 'step.*', workflow: 'orders' }))).toEqual(
      expected((run, type) => RUNS[run].tenant === 'acme' && RUNS[run].workflow === 'orders' && type.startsWith('step.')),
    );
    expect(names(await all(acme, { type: 'run.failed, step.failed' }))).toEqual(
      expected((run, type) => RUNS[run].tenant === 'acme' && (type === 'run.failed' || type === 'step.failed')),
    );
    expect(names(await all(acme, { type: 'task.*' }))).toEqual([]);
  });

  it('filters by run and by step', async () => {
    expect(names(await all(acme, { runId: 'b1' }))).toEqual(['b1:run.created', 'b1:step.started', 'b1:step.failed', 'b1:run.failed']);
    expect(names(await all(acme, { stepId: 'charge', type: 'step.failed' }))).toEqual(['o1:step.failed']);
  });

  it('takes a time window: from inclusive, to exclusive', async () => {
    // "What failed in orders between 14:00 and 15:00?"
    expect(names(await all(acme, { workflow: 'orders', type: 'run.failed,step.failed', from: at(0), to: at(60) }))).toEqual([
      'o1:step.failed',
      'o1:run.failed',
    ]);
    expect(names(await all(acme, { from: at(22), to: at(65) }))).toEqual(['b1:step.failed', 'b1:run.failed']);
    expect(names(await all(acme, { from: at(2), to: at(2) }))).toEqual([]);
    expect(names(await all(acme, { to: at(1) }))).toEqual(['o1:run.created']);
  });

  it('pages by cursor: the pages together are the whole listing, each event once', async () => {
    const whole = await all(acme, {}, 1000);
    expect(names(whole)).toEqual(expected((run) => RUNS[run].tenant === 'acme'));
    const first = await events.list(acme, { limit: 3 });
    expect(first.items).toHaveLength(3);
    expect(first.next_cursor).not.toBeNull();
    const paged = await all(acme, {}, 3);
    expect(paged).toEqual(whole);
    // Within a window too (the cursor and the window's start together).
    expect(await all(acme, { from: at(11), to: at(31) }, 2)).toEqual(
      whole.filter((e) => e.at >= new Date(at(11)).toISOString() && e.at < new Date(at(31)).toISOString()),
    );
  });

  it("never shows another tenant's events, and a key that reaches only its own runs sees only theirs", async () => {
    const globex = await all(caller('globex'), {});
    expect(names(globex)).toEqual(expected((run) => run === 'g1'));
    expect(await all(acme, { runId: 'g1' })).toEqual([]);
    expect(names(await all(acme, {}))).not.toContain('g1:run.created');
    expect(new Set((await all(caller('acme', 'bob', 'own'), {})).map((e) => e.run_id))).toEqual(new Set(['o2']));
    expect(new Set((await all(caller('acme', 'alice', 'own'), {})).map((e) => e.run_id))).toEqual(new Set(['o1', 'b1', 'o3']));
    // The CLI's user on its own store reads every tenant.
    expect(names(await all(caller(undefined), { workflow: 'orders', type: 'run.created' }))).toEqual([
      'o1:run.created',
      'o2:run.created',
      'g1:run.created',
      'o3:run.created',
    ]);
  });

  it('looks at a bounded stretch of the window per page: short or empty pages with a cursor, every event found in the end', async () => {
    const pages: { items: string[]; next: boolean }[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.queryEvents({ tenantId: 'globex', limit: 100, scanLimit: 3, ...(cursor === undefined ? {} : { cursor }) });
      pages.push({ items: page.items.map((e) => `${e.runId}:${e.type}`), next: page.nextCursor !== null });
      cursor = page.nextCursor ?? undefined;
    } while (cursor !== undefined);
    // acme's first 9 events come before globex's: three pages look at them and find none.
    expect(pages.slice(0, 3)).toEqual([
      { items: [], next: true },
      { items: [], next: true },
      { items: [], next: true },
    ]);
    expect(pages.flatMap((p) => p.items)).toEqual(expected((run) => run === 'g1'));
    const total = Object.values(RUNS).reduce((n, r) => n + r.events.length, 0);
    expect(pages.length).toBeLessThanOrEqual(Math.ceil(total / 3) + 1);
  });

  it('refuses bad input: from after to, a type that is none, a limit past 1000, a cursor it did not give', async () => {
    const refused = async (query: EventListQuery): Promise<string> => {
      const error = await events.list(acme, query).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentryError);
      expect((error as AgentryError).code).toBe('invalid_request');
      return (error as AgentryError).message;
    };
    expect(await refused({ from: at(10), to: at(5), limit: 10 })).toMatch(/^from \(2026-05-01T14:10:00.000Z\) is after to/);
    expect(await refused({ type: 'run.failed,step.exploded', limit: 10 })).toMatch(/^type: 'step.exploded' is no event type/);
    expect(await refused({ type: 'steps.*', limit: 10 })).toMatch(/^type: 'steps\.\*'/);
    expect(await refused({ limit: 1001 })).toMatch(/^limit must be from 1 to 1000/);
    expect(await refused({ limit: 10, cursor: 'bm90LWEtY3Vyc29y' })).toBe('cursor is not valid');
  });
});

describe('the plan of the event query on SQLite', () => {
  it("walks events_by_time from the window's start or the cursor and looks up each event's run by id: no table scan, no sort", async () => {
    const { dir, remove } = tempDir();
    const file = join(dir, 'agentry.db');
    const migrated = openSqliteStore(file);
    await migrated.migrate();
    await migrated.close();
    const database = new Database(file);
    const statements: CompiledQuery[] = [];
    const db: Db = new Kysely({ dialect: new SqliteDialect({ database }), log: (e) => void (e.level === 'query' && statements.push(e.query)) });
    const cursor = Buffer.from(`${at(5)}:3:o1`).toString('base64url');
    const queries: Array<Omit<EventQuery, 'limit' | 'scanLimit'>> = [
      { from: at(0), to: at(60) },
      { tenantId: 'acme', workflow: 'orders', types: ['run.failed', 'step.failed'], from: at(0), to: at(60), cursor },
      { tenantId: 'acme', createdBy: 'bob', cursor },
    ];
    try {
      for (const query of queries) {
        statements.length = 0;
        await queryEvents(db, { ...query, limit: 100, scanLimit: 10_000 });
        expect(statements).toHaveLength(2);
        for (const statement of statements) {
          const plan = (database.prepare(`EXPLAIN QUERY PLAN ${statement.sql}`).all(...statement.parameters) as { detail: string }[]).map((r) => r.detail);
          const label = `${JSON.stringify(query)}: ${plan.join(' | ')}`;
          const walks = plan.filter((d) => /^(SCAN|SEARCH) events\b/.test(d));
          expect(walks.length, label).toBeGreaterThan(0);
          for (const walk of walks) {
            expect(walk, label).toMatch(/^SEARCH events USING (COVERING )?INDEX events_by_time \(/);
            // With a cursor, the range starts at it (not at the window's start, filtering up to it).
            if (query.cursor !== undefined) expect(walk, label).toContain('(at,run_id,seq)>(?,?,?)');
          }
          for (const detail of plan.filter((d) => /\b(r|runs)\b/.test(d))) expect(detail, label).toBe('SEARCH r USING INDEX sqlite_autoindex_runs_1 (id=?)');
          expect(
            plan.filter((d) => /AUTOMATIC|TEMP B-TREE/.test(d)),
            label,
          ).toEqual([]);
        }
      }
    } finally {
      await db.destroy();
      remove();
    }
  });
});

describe('GET /v1/events', () => {
  let api: TestApi;
  let hello: string;

  beforeAll(async () => {
    api = await startTestApi();
    const started = await api.app.inject({
      method: 'POST',
      url: '/v1/workflows/hello/runs?wait=10s',
      payload: { input: { name: 'Ada' } },
      headers: api.auth('operator'),
    });
    expect(started.statusCode).toBe(200);
    hello = started.json<{ id: string }>().id;
    expect((await api.app.inject({ method: 'POST', url: '/v1/workflows/nap/runs', payload: {}, headers: api.auth('operator') })).statusCode).toBe(201);
  });
  afterAll(async () => {
    await api.close();
  });

  const get = (query: string) => api.app.inject({ url: `/v1/events?${query}`, headers: api.auth('viewer') });

  it("answers the workflow's events with their run, as the run's own events route does", async () => {
    const res = await get('workflow=hello&type=run.*,step.succeeded&limit=1000');
    expect(res.statusCode).toBe(200);
    const page = res.json<{ items: WorkflowEventDto[]; next_cursor: string | null }>();
    expect(page.next_cursor).toBeNull();
    expect(page.items.map((e) => [e.run_id, e.workflow, e.type, e.step_id])).toEqual([
      [hello, 'hello', 'run.created', null],
      [hello, 'hello', 'run.started', null],
      [hello, 'hello', 'step.succeeded', 'greet'],
      [hello, 'hello', 'step.succeeded', 'done'],
      [hello, 'hello', 'run.succeeded', null],
    ]);
    const own = (await api.app.inject({ url: `/v1/runs/${hello}/events?limit=1000`, headers: api.auth('viewer') })).json<{ items: unknown[] }>().items;
    for (const item of page.items) {
      const { run_id: _run, workflow: _workflow, ...event } = item;
      expect(own).toContainEqual(event);
    }
    const later = await get(`workflow=hello&from=${new Date(Date.now() + 3_600_000).toISOString()}`);
    expect(later.json()).toEqual({ items: [], next_cursor: null });
  });

  it('answers bad parameters 400 (problem+json naming the parameter)', async () => {
    const cases: Array<[string, RegExp]> = [
      ['from=yesterday', /from/],
      ['to=2026-05-01T14:00:00', /to/],
      ['from=2026-06-30T23:59:60Z', /^from is not an RFC 3339 date-time/],
      ['from=2026-05-01T15:00:00Z&to=2026-05-01T14:00:00Z', /^from \(.*\) is after to/],
      ['limit=5000', /limit/],
      ['limit=0', /limit/],
      ['type=run.exploded', /^type: 'run.exploded' is no event type/],
      ['workfow=hello', /workfow|additional/],
      ['cursor=not-a-cursor', /cursor is not valid/],
    ];
    for (const [query, detail] of cases) {
      const res = await get(query);
      expect(res.statusCode, query).toBe(400);
      expect(res.headers['content-type'], query).toMatch(/^application\/problem\+json/);
      expect(res.json<{ code: string; detail: string }>(), query).toMatchObject({ code: 'invalid_request', detail: expect.stringMatching(detail) as unknown });
    }
  });
});
