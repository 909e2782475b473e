/**
 * The run stream (`GET /v1/runs/stream`) on both stores, over real HTTP: a tenant's runs as
 * they change, each change carrying the run with its cost; another tenant's runs never; a key
 * that reaches only its own runs sees only those; resuming after `Last-Event-ID` (and the JSON
 * page after `?after=`); a key without `runs:read` refused; a position that is none refused; and
 * the changes another process makes (an engine whose commits this server's feed never hears of).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import { authSettings } from '../../src/server/auth.js';
import { compileAll, silentLogger } from '../helpers/engine.js';
import { KEYS as ROLE_KEYS, listen, startTestApi, WORKFLOWS, type TestApi } from '../helpers/server.js';
import { storeFactories } from '../helpers/store.js';
import { TENANT_API_KEYS, tenantKey } from '../helpers/tenants.js';

interface Change {
  id: string;
  type: string;
  at: string;
  run: { id: string; status: string; tenant_id: string; cost_usd: number; finished_at: string | null };
}

const NO_RUNS = 'noruns-key-0123456789abcdef';
const ACME_SERVICE = 'acme-svc2-key-0123456789abcdef';
const KEYS = `${TENANT_API_KEYS};noruns:${NO_RUNS}:tasks:read;acme-svc2:${ACME_SERVICE}:service,tenant:acme`;

/** An open stream: the changes read so far, and `until` to wait for one. */
interface Stream {
  changes: Change[];
  /** Comment lines read (the heartbeats and the opening comment). */
  comments: string[];
  until: (what: string, match: (change: Change) => boolean) => Promise<Change>;
  close: () => Promise<void>;
}

async function openStream(base: string, key: string, headers: Record<string, string> = {}): Promise<Stream> {
  const abort = new AbortController();
  const response = await fetch(`${base}/v1/runs/stream`, {
    headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...headers },
    signal: abort.signal,
  });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/event-stream');
  const changes: Change[] = [];
  const comments: string[] = [];
  const waiters = new Set<() => void>();
  const reading = (async () => {
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const frame = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        comments.push(...frame.filter((line) => line.startsWith(':')));
        for (const wake of [...waiters]) wake();
        const data = frame.find((line) => line.startsWith('data: '));
        if (data === undefined) continue;
        const change = JSON.parse(data.slice(6)) as Change;
        // The frame's id and event are the change's position and type.
        expect(frame).toContain(`id: ${change.id}`);
        expect(frame).toContain(`event: ${change.type}`);
        changes.push(change);
        for (const wake of [...waiters]) wake();
      }
    }
  })().catch(() => undefined);
  const until = async (what: string, match: (change: Change) => boolean): Promise<Change> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const found = changes.find(match);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no change: ${what}; got ${JSON.stringify(changes.map((c) => [c.run.id, c.type]))}`);
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, 200);
        waiters.add(wake);
      });
    }
  };
  return {
    changes,
    comments,
    until,
    close: async () => {
      abort.abort();
      await reading;
    },
  };
}

describe.each(storeFactories)('the run stream on $name', { timeout: 60_000 }, (factory) => {
  let api: TestApi;
  let base: string;

  async function start(key: string, workflow = 'hello', input: unknown = { name: 'Ada' }): Promise<{ id: string; status: string }> {
    const res = await fetch(`${base}/v1/workflows/${workflow}/runs?wait=10s`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input }),
    });
    expect(res.status, await res.clone().text()).toBeLessThan(300);
    return (await res.json()) as { id: string; status: string };
  }

  beforeAll(async () => {
    api = await startTestApi({
      factory,
      // No look-back: resuming sends exactly the changes from the position's time on (see run-changes.ts).
      app: { auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: KEYS }), runStreamSettleMs: 0, sseHeartbeatMs: 100 },
    });
    base = await listen(api.app);
    // fetch's first use opens the connection pool it keeps for the file (the leak guard counts sockets per test).
    await (await fetch(`${base}/v1/runs/stream`, { headers: { authorization: `Bearer ${tenantKey('acme', 'viewer')}` } })).json();
  });
  afterAll(() => api?.close());
  // fetch keeps its connections to the server alive between calls; the leak guard counts sockets per test.
  afterEach(() => api.app.server.closeIdleConnections());

  it("streams the caller's runs as they change, each with the run as it is; another tenant's runs never", async () => {
    const acme = await openStream(base, tenantKey('acme', 'viewer'));
    const globex = await openStream(base, tenantKey('globex', 'viewer'));
    try {
      const ours = await start(tenantKey('acme', 'operator'));
      const theirs = await start(tenantKey('globex', 'operator'));
      expect(ours.status).toBe('succeeded');
      const ended = await acme.until('acme run succeeded', (c) => c.run.id === ours.id && c.type === 'run.succeeded');
      expect(ended.run).toMatchObject({ status: 'succeeded', tenant_id: 'acme', cost_usd: 0 });
      expect(ended.run.finished_at).not.toBeNull();
      await globex.until('globex run succeeded', (c) => c.run.id === theirs.id && c.type === 'run.succeeded');
      // In order: created, started, succeeded, each once.
      expect(acme.changes.filter((c) => c.run.id === ours.id).map((c) => c.type)).toEqual(['run.created', 'run.started', 'run.succeeded']);
      // A later acme run seen means the other tenant's changes, made before it, were looked at: none came.
      const later = await start(tenantKey('acme', 'operator'));
      await acme.until('later acme run', (c) => c.run.id === later.id && c.type === 'run.succeeded');
      expect(acme.changes.some((c) => c.run.id === theirs.id || c.run.tenant_id !== 'acme')).toBe(false);
      expect(globex.changes.some((c) => c.run.id === ours.id || c.run.tenant_id !== 'globex')).toBe(false);
    } finally {
      await acme.close();
      await globex.close();
    }
  });

  it('shows a key that reaches only its own runs only those', async () => {
    const own = await openStream(base, ACME_SERVICE);
    try {
      const other = await start(tenantKey('acme', 'operator'));
      const mine = await start(ACME_SERVICE);
      await own.until('own run ended', (c) => c.run.id === mine.id && c.type === 'run.succeeded');
      expect(own.changes.some((c) => c.run.id === other.id)).toBe(false);
    } finally {
      await own.close();
    }
  });

  it('resumes after Last-Event-ID with the changes after it, and pages them as JSON after ?after=', async () => {
    const key = tenantKey('acme', 'operator');
    const first = await openStream(base, key);
    const before = await start(key);
    const mark = await first.until('first run ended', (c) => c.run.id === before.id && c.type === 'run.succeeded');
    await first.close();
    // Made while no stream was open.
    const missed = await start(key);
    const resumed = await openStream(base, key, { 'last-event-id': mark.id });
    let resumedEnd: Change | undefined;
    try {
      resumedEnd = await resumed.until('missed run ended', (c) => c.run.id === missed.id && c.type === 'run.succeeded');
      expect(resumed.changes.filter((c) => c.run.id === missed.id).map((c) => c.type)).toEqual(['run.created', 'run.started', 'run.succeeded']);
      // Nothing from before the position: not the position itself, nor the first run's earlier changes.
      expect(resumed.changes.some((c) => c.id === mark.id)).toBe(false);
      expect(resumed.changes.filter((c) => c.run.id === before.id).every((c) => Date.parse(c.at) >= Date.parse(mark.at))).toBe(true);
    } finally {
      await resumed.close();
    }
    const page = await fetch(`${base}/v1/runs/stream?after=${encodeURIComponent(mark.id)}&limit=2`, { headers: { authorization: `Bearer ${key}` } });
    expect(page.status).toBe(200);
    const body = (await page.json()) as { items: Change[]; next_after: string };
    expect(body.items.filter((c) => c.run.id === missed.id).map((c) => c.type)).toEqual(['run.created', 'run.started']);
    expect(body.next_after).toBe(body.items.at(-1)!.id);
    const rest = (await (
      await fetch(`${base}/v1/runs/stream?after=${encodeURIComponent(body.next_after)}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as { items: Change[] };
    expect(rest.items.filter((c) => c.run.id === missed.id).map((c) => c.type)).toEqual(['run.succeeded']);
    // A run's changes numbered at or before the position are never sent again, however early the
    // position's time (its run's events commit in their order; runs of one millisecond do not tie).
    const ended = resumedEnd;
    const early = `${Date.parse(ended.at) - 60_000}.${ended.id.split('.')[1]}.${missed.id}`;
    const again = (await (
      await fetch(`${base}/v1/runs/stream?after=${encodeURIComponent(early)}`, { headers: { authorization: `Bearer ${key}` } })
    ).json()) as {
      items: Change[];
    };
    expect(again.items.filter((c) => c.run.id === missed.id)).toEqual([]);
  });

  it('sends heartbeats while no run changes', async () => {
    const stream = await openStream(base, tenantKey('globex', 'viewer'));
    try {
      const deadline = Date.now() + 20_000;
      while (stream.comments.filter((c) => c === ': heartbeat').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(stream.comments.filter((c) => c === ': heartbeat').length).toBeGreaterThanOrEqual(2);
      expect(stream.comments[0]).toBe(': changes of runs');
    } finally {
      await stream.close();
    }
  });

  it('refuses a key without runs:read (403) and a position the stream never sent (400), before streaming', async () => {
    const refused = await fetch(`${base}/v1/runs/stream`, { headers: { authorization: `Bearer ${NO_RUNS}`, accept: 'text/event-stream' } });
    expect(refused.status).toBe(403);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    for (const headers of [{ 'last-event-id': 'nope' }, { 'last-event-id': '12.3' }]) {
      const res = await fetch(`${base}/v1/runs/stream`, {
        headers: { authorization: `Bearer ${tenantKey('acme', 'viewer')}`, accept: 'text/event-stream', ...headers },
      });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('invalid_request');
    }
    const badAfter = await fetch(`${base}/v1/runs/stream?after=x.y.z`, { headers: { authorization: `Bearer ${tenantKey('acme', 'viewer')}` } });
    expect(badAfter.status).toBe(400);
    const unknown = await fetch(`${base}/v1/runs/stream?since=1`, { headers: { authorization: `Bearer ${tenantKey('acme', 'viewer')}` } });
    expect(unknown.status).toBe(400);
  });
});

describe.each(storeFactories)('the run stream on $name, with the runs moved by another engine', { timeout: 60_000 }, (factory) => {
  let api: TestApi;
  let worker: Engine;
  let base: string;

  beforeAll(async () => {
    // The API's own engine runs no steps: another engine on the same store does, as a worker
    // process would; its commits never reach the API's event feed, so only the stream's polling finds them.
    api = await startTestApi({ factory, start: false });
    const executors = defaultExecutors();
    worker = new Engine({
      store: api.store,
      workflows: compileAll(WORKFLOWS, executors),
      executors: createExecutorRegistry(executors),
      executorSettings: DEFAULT_EXECUTOR_SETTINGS,
      logger: silentLogger,
      settings: { pollIntervalMs: 50, leaseTtlMs: 2_000, shutdownGraceMs: 1_000 },
      env: {},
    });
    base = await listen(api.app);
    await (await fetch(`${base}/v1/runs/stream`, { headers: { authorization: `Bearer ${ROLE_KEYS.viewer}` } })).json();
  });
  afterAll(async () => {
    await worker?.stop();
    await api?.close();
  });
  afterEach(() => api.app.server.closeIdleConnections());

  it("streams the changes the other engine commits: the run's start and end", async () => {
    const stream = await openStream(base, ROLE_KEYS.viewer);
    try {
      const res = await fetch(`${base}/v1/workflows/hello/runs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ROLE_KEYS.operator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ input: { name: 'Ada' } }),
      });
      const run = (await res.json()) as { id: string };
      await stream.until('run created', (c) => c.run.id === run.id && c.type === 'run.created');
      await worker.start();
      const ended = await stream.until('run ended by the other engine', (c) => c.run.id === run.id && c.type === 'run.succeeded');
      expect(ended.run.status).toBe('succeeded');
      expect(stream.changes.filter((c) => c.run.id === run.id).map((c) => c.type)).toEqual(['run.created', 'run.started', 'run.succeeded']);
    } finally {
      await stream.close();
    }
  });
});
