/**
 * Agents' conversation memory over HTTP (`/v1/memory/threads…`) on every store: listing with
 * prefix, agent and cursor paging; a thread's messages with any characters in its id; clearing a
 * thread and pruning old messages, each audited; tenant isolation (another tenant's thread of the
 * same id is neither shown nor cleared); bad input answered 400 with nothing changed; and the
 * scheduler's retention deleting messages older than `AGENTRY_RETENTION_MEMORY`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { RetentionService } from '../../src/app/retention.js';
import { authSettings } from '../../src/server/auth.js';
import type { MemoryMessage } from '../../src/store/store.js';
import { API_KEYS, startTestApi, type TestApi } from '../helpers/server.js';
import { NO_RETENTION, storeFactories } from '../helpers/store.js';

const DAY = 24 * 60 * 60 * 1000;
const ROLES_USED = ['operator', 'viewer', 'service'] as const;
const TENANT_KEYS = ['acme', 'globex'].flatMap((t) => ROLES_USED.map((role) => `${t}-${role}:${t}-${role}-mem-0123456789abcdef:${role},tenant:${t}`)).join(';');

/** A thread id with every kind of character a template might render. */
const ODD = 'orders/42 ?x=1&y#frag %2F é 💬';

function bearer(tenant: 'acme' | 'globex', role: (typeof ROLES_USED)[number]): Record<string, string> {
  return { authorization: `Bearer ${tenant}-${role}-mem-0123456789abcdef` };
}

function exchange(text: string): MemoryMessage[] {
  return [
    { role: 'user', content: text },
    { role: 'assistant', content: `re: ${text}` },
  ];
}

const path = (thread: string) => `/v1/memory/threads/${encodeURIComponent(thread)}`;

describe.each(storeFactories)('memory routes ($name)', { timeout: 60_000 }, (factory) => {
  let api: TestApi;
  const acme = bearer('acme', 'operator');
  const globex = bearer('globex', 'operator');

  beforeAll(async () => {
    api = await startTestApi({
      factory,
      start: false,
      app: { auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: `${API_KEYS};${TENANT_KEYS}` }) },
    });
  });
  afterAll(async () => {
    await api.close();
  });

  async function seed(): Promise<void> {
    for (const tenant of ['acme', 'globex']) {
      for (const t of (await api.store.listMemoryThreads({ tenantId: tenant, limit: 100 })).items) await api.store.clearMemory(tenant, t.agent, t.thread);
    }
    const now = Date.now();
    await api.store.appendMemory('acme', 'helper', 'shared', exchange('acme secret'), 50, now);
    await api.store.appendMemory('acme', 'triage', 'shared', exchange('acme triage'), 50, now);
    await api.store.appendMemory('acme', 'helper', ODD, exchange('odd one'), 50, now);
    await api.store.appendMemory('acme', 'helper', 'orders-7', exchange('seven'), 50, now);
    await api.store.appendMemory('acme', 'helper', 'stale', exchange('long ago'), 50, now - 40 * DAY);
    await api.store.appendMemory('globex', 'helper', 'shared', exchange('globex private'), 50, now);
    await api.store.appendMemory('globex', 'helper', 'stale', exchange('globex long ago'), 50, now - 40 * DAY);
  }

  const get = (url: string, headers = acme) => api.app.inject({ url, headers });
  const del = (url: string, headers = acme) => api.app.inject({ method: 'DELETE', url, headers });

  it("lists the caller's tenant's threads by id, with agent, count and last write; filters by prefix and agent; pages by cursor", async () => {
    await seed();
    const res = await get('/v1/memory/threads');
    expect(res.statusCode, res.body).toBe(200);
    const page = res.json<{ items: { thread: string; agent: string; tenant_id: string; messages: number; updated_at: string }[]; next_cursor: null }>();
    expect(page.items.map((t) => `${t.thread}|${t.agent}`)).toEqual(['orders-7|helper', `${ODD}|helper`, 'shared|helper', 'shared|triage', 'stale|helper']);
    expect(page.items.every((t) => t.tenant_id === 'acme' && t.messages === 2)).toBe(true);
    expect(Date.parse(page.items[0]!.updated_at)).toBeGreaterThan(Date.now() - 60_000);
    expect(res.body).not.toContain('globex');

    const prefixed = await get(`/v1/memory/threads?prefix=${encodeURIComponent('orders')}`);
    expect(prefixed.json<{ items: { thread: string }[] }>().items.map((t) => t.thread)).toEqual(['orders-7', ODD]);
    // A prefix is no pattern: `%` and `_` match only themselves.
    expect((await get('/v1/memory/threads?prefix=%25')).json()).toEqual({ items: [], next_cursor: null });
    const triage = await get('/v1/memory/threads?agent=triage');
    expect(triage.json<{ items: { thread: string; agent: string }[] }>().items).toEqual([expect.objectContaining({ thread: 'shared', agent: 'triage' })]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await get(`/v1/memory/threads?limit=2${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`);
      expect(r.statusCode, r.body).toBe(200);
      const p = r.json<{ items: { thread: string; agent: string }[]; next_cursor: string | null }>();
      seen.push(...p.items.map((t) => `${t.thread}|${t.agent}`));
      cursor = p.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(page.items.map((t) => `${t.thread}|${t.agent}`));

    const other = await get('/v1/memory/threads', globex);
    expect(other.json<{ items: { thread: string }[] }>().items.map((t) => t.thread)).toEqual(['shared', 'stale']);
    expect(other.body).not.toContain('acme');
  });

  it("shows a thread's messages oldest first, whatever characters its id holds, and only the caller's tenant's", async () => {
    await seed();
    const odd = await get(path(ODD));
    expect(odd.statusCode, odd.body).toBe(200);
    expect(odd.json()).toMatchObject({
      thread: ODD,
      items: [
        { agent: 'helper', tenant_id: 'acme', seq: 1, role: 'user', content: 'odd one' },
        { agent: 'helper', tenant_id: 'acme', seq: 2, role: 'assistant', content: 're: odd one' },
      ],
      next_cursor: null,
    });

    const shared = await get(path('shared'));
    expect(shared.json<{ items: { agent: string; content: string }[] }>().items.map((m) => `${m.agent}: ${m.content}`)).toEqual([
      'helper: acme secret',
      'helper: re: acme secret',
      'triage: acme triage',
      'triage: re: acme triage',
    ]);
    expect(shared.body).not.toContain('globex');
    expect((await get(path('shared'), globex)).json<{ items: { content: string }[] }>().items.map((m) => m.content)).toEqual([
      'globex private',
      're: globex private',
    ]);
    const onlyTriage = await get(`${path('shared')}?agent=triage&limit=1`);
    const first = onlyTriage.json<{ items: { content: string }[]; next_cursor: string }>();
    expect(first.items.map((m) => m.content)).toEqual(['acme triage']);
    const second = await get(`${path('shared')}?agent=triage&limit=1&cursor=${encodeURIComponent(first.next_cursor)}`);
    expect(second.json<{ items: { content: string }[] }>().items.map((m) => m.content)).toEqual(['re: acme triage']);

    // Another tenant's thread is reported exactly like a missing one.
    const hidden = await get(path('orders-7'), globex);
    expect(hidden.statusCode).toBe(404);
    expect(hidden.json()).toMatchObject({ code: 'not_found' });
    expect((await get(path('no-such-thread'))).statusCode).toBe(404);
  });

  it('refuses bad input with 400 and a clear problem, and changes nothing', async () => {
    await seed();
    const before = await api.store.listMemoryThreads({ limit: 100 });
    const bad: [string, string][] = [
      ['GET', path('x'.repeat(201))],
      ['GET', '/v1/memory/threads?limit=0'],
      ['GET', '/v1/memory/threads?limit=501'],
      ['GET', '/v1/memory/threads?cursor=bm90LWEtY3Vyc29y'],
      ['GET', `${path('shared')}?cursor=garbage`],
      ['GET', `/v1/memory/threads?prefix=${'p'.repeat(201)}`],
      ['DELETE', path('x'.repeat(201))],
      ['DELETE', '/v1/memory/threads'],
      ['DELETE', '/v1/memory/threads?older_than=soon'],
      ['DELETE', '/v1/memory/threads?older_than=0d'],
      ['DELETE', '/v1/memory/threads?older_than=-1d'],
    ];
    for (const [method, url] of bad) {
      const res = await api.app.inject({ method: method as 'GET' | 'DELETE', url, headers: acme });
      expect(res.statusCode, `${method} ${url}: ${res.body}`).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.json<{ code: string; detail: string }>().detail.length).toBeGreaterThan(5);
    }
    expect(await api.store.listMemoryThreads({ limit: 100 })).toEqual(before);
  });

  it('needs runs:read:all to read and runs:write:all to clear: a service key reaches no memory, a viewer only reads', async () => {
    await seed();
    expect((await get('/v1/memory/threads', bearer('acme', 'service'))).statusCode).toBe(403);
    expect((await get(path('shared'), bearer('acme', 'service'))).statusCode).toBe(403);
    expect((await get(path('shared'), bearer('acme', 'viewer'))).statusCode).toBe(200);
    const refused = await del(path('shared'), bearer('acme', 'viewer'));
    expect(refused.statusCode).toBe(403);
    expect(refused.json<{ detail: string }>().detail).toBe('missing required scope: runs:write:all');
    expect((await del('/v1/memory/threads?older_than=1d', bearer('acme', 'service'))).statusCode).toBe(403);
    expect((await api.store.listMemoryMessages({ tenantId: 'acme', thread: 'shared', limit: 10 })).items).toHaveLength(4);
  });

  it("clears a thread of the caller's tenant only, audited; another tenant's thread of the same id stays", async () => {
    await seed();
    const hidden = await del(path('orders-7'), globex);
    expect(hidden.statusCode).toBe(404);
    expect((await api.store.listMemoryMessages({ tenantId: 'acme', thread: 'orders-7', limit: 10 })).items).toHaveLength(2);

    const one = await del(`${path('shared')}?agent=triage`);
    expect(one.statusCode, one.body).toBe(200);
    expect(one.json()).toEqual({ thread: 'shared', agent: 'triage', deleted: 2 });
    const cleared = await del(path('shared'), globex);
    expect(cleared.json()).toEqual({ thread: 'shared', agent: null, deleted: 2 });
    // acme's helper thread of the same id is untouched.
    expect((await api.store.loadMemory('acme', 'helper', 'shared', 50)).map((m) => m.content)).toEqual(['acme secret', 're: acme secret']);
    expect(await api.store.loadMemory('globex', 'helper', 'shared', 50)).toEqual([]);
    expect((await del(path('shared'), globex)).statusCode).toBe(404);

    const odd = await del(path(ODD));
    expect(odd.json()).toEqual({ thread: ODD, agent: null, deleted: 2 });

    const audit = await api.store.listAudit({ limit: 50 });
    const entries = audit.items.filter((e) => e.action === 'memory.clear');
    expect(entries.find((e) => e.target === 'memory:shared' && e.tenantId === 'globex' && e.outcome === 'success')).toMatchObject({
      principal: 'globex-operator',
      details: { agent: null, deleted: 2 },
    });
    expect(entries.find((e) => e.target === `memory:${ODD}`)).toMatchObject({ principal: 'acme-operator', outcome: 'success' });
    expect(entries.find((e) => e.target === 'memory:orders-7')).toMatchObject({ tenantId: 'globex', outcome: 'denied' });
  });

  it("prunes the caller's tenant's messages older than older_than, audited; the other tenant's stay", async () => {
    await seed();
    const res = await del('/v1/memory/threads?older_than=30d');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ deleted: 2, older_than_ms: 30 * DAY });
    expect(await api.store.loadMemory('acme', 'helper', 'stale', 50)).toEqual([]);
    expect(await api.store.loadMemory('acme', 'helper', 'orders-7', 50)).toHaveLength(2);
    expect(await api.store.loadMemory('globex', 'helper', 'stale', 50)).toHaveLength(2);
    const entry = (await api.store.listAudit({ limit: 50 })).items.find((e) => e.action === 'memory.prune');
    expect(entry).toMatchObject({ tenantId: 'acme', principal: 'acme-operator', outcome: 'success', details: { deleted: 2 } });
  });

  it("retention deletes every tenant's messages older than the memory window, and nothing without one", async () => {
    await seed();
    const retention = new RetentionService(api.store, new AuditService(api.store));
    expect((await retention.apply(NO_RETENTION, [])).memory).toBe(0);
    expect(await api.store.loadMemory('acme', 'helper', 'stale', 50)).toHaveLength(2);
    expect((await retention.apply({ ...NO_RETENTION, memoryMs: 30 * DAY }, [])).memory).toBe(4);
    expect(await api.store.loadMemory('acme', 'helper', 'stale', 50)).toEqual([]);
    expect(await api.store.loadMemory('globex', 'helper', 'stale', 50)).toEqual([]);
    expect(await api.store.loadMemory('globex', 'helper', 'shared', 50)).toHaveLength(2);
    expect((await api.store.listAudit({ limit: 50 })).items.find((e) => e.action === 'runs.retention')).toMatchObject({ details: { memory: 4 } });
  });
});
