/**
 * The plugins a process runs (`PluginService`) on both stores, with two services on two
 * connections of one database standing for two processes: a disable made through one is refused
 * by the other within the 5 s promise while a call in flight finishes; both list the same set
 * and versions; a disabled plugin's route is not found; `ctx.kv` is scoped by tenant; every
 * fs call is in the audit log with plugin, path, run and tenant.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import type { Caller } from '../../src/app/caller.js';
import { PluginManager } from '../../src/app/plugins.js';
import { PluginService } from '../../src/app/plugin-service.js';
import { openPostgresStore } from '../../src/store/postgres.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import type { Store } from '../../src/store/store.js';
import { REPO, removeDir, tempDir } from '../helpers/cli.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

const logger = pino({ level: 'silent' });
const operator: Caller = { name: 'ops', roles: ['admin'], runAccess: { read: 'all', write: 'all' }, systemAdmin: true };

const PROBE = `
export default {
  tools: {
    slow: async (input) => { await new Promise((r) => setTimeout(r, input.ms)); return 'finished'; },
    remember: async (input, ctx) => { await ctx.kv.set('k', input.value); return ctx.kv.get('k'); },
    recall: async (input, ctx) => ctx.kv.get('k'),
    note: (input, ctx) => ctx.fs.writeFile(input.path, 'x').then(() => 'ok'),
  },
  routes: { 'GET /hello': (request, ctx) => ({ status: 200, body: { hello: ctx.tenantId } }) },
};
`;
const PROBE_MANIFEST = {
  name: 'probe',
  version: '0.1.0',
  mode: 'in-process',
  adds: {
    tools: ['slow', 'remember', 'recall', 'note'].map((name) => ({ name, input: { type: 'object' } })),
    routes: [{ method: 'GET', path: '/hello' }],
  },
  permissions: { fs: { write: ['${data}'] } },
};

let project: string;
beforeAll(async () => {
  project = tempDir('agentry-plugin-svc-');
  mkdirSync(join(project, 'probe'));
  writeFileSync(join(project, 'probe/index.js'), PROBE);
  writeFileSync(join(project, 'probe/agentry-plugin.json'), JSON.stringify(PROBE_MANIFEST));
  const manager = new PluginManager({ projectDir: project, registry: 'http://127.0.0.1:9/' });
  await manager.link(join(project, 'probe'), () => Promise.resolve(true));
  await manager.link(join(REPO, 'examples/plugins/weather'), () => Promise.resolve(true));
});
afterAll(() => removeDir(project));

interface Pair {
  a: Store;
  b: Store;
  close(): Promise<void>;
}

const pairs: Array<{ name: string; open: () => Promise<Pair> }> = [
  {
    name: 'sqlite',
    async open() {
      const dir = tempDir('agentry-plugin-db-');
      const a = openSqliteStore(join(dir, 'agentry.db'));
      await a.migrate();
      const b = openSqliteStore(join(dir, 'agentry.db'));
      return { a, b, close: async () => (await Promise.all([a.close(), b.close()]), removeDir(dir)) };
    },
  },
  ...(hasPostgres
    ? [
        {
          name: 'postgres',
          async open() {
            const db = await createTestDatabase();
            const a = openPostgresStore(db.url, { poolSize: 2 });
            const b = openPostgresStore(db.url, { poolSize: 2 });
            return { a, b, close: async () => (await Promise.all([a.close(), b.close()]), await db.drop()) };
          },
        },
      ]
    : []),
];

async function within5s(check: () => Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

describe.each(pairs)('plugins on $name', ({ open }) => {
  it('a disable on one process is seen by the other within 5 s; in-flight calls finish; both list the same plugins', async () => {
    const pair = await open();
    const one = await PluginService.open({ projectDir: project, env: {}, production: false, store: pair.a, logger, audit: new AuditService(pair.a) });
    const two = await PluginService.open({ projectDir: project, env: {}, production: false, store: pair.b, logger });
    two.watch(500);
    try {
      expect(two.list()).toEqual(one.list());
      expect(one.list().map((p) => [p.name, p.version, p.state])).toEqual([
        ['probe', '0.1.0', 'enabled'],
        ['weather', '1.0.0', 'enabled'],
      ]);
      const scope = { tenantId: 'acme', runId: 'run_9' };
      expect(await two.route({ ...operator, tenantId: 'acme' }, 'probe', { method: 'GET', path: '/hello', query: {}, body: null, headers: {} })).toEqual({
        status: 200,
        body: { hello: 'acme' },
      });

      const inFlight = two.call('probe', 'tool', 'slow', { ms: 1500 }, scope);
      await one.disable(operator, 'probe', 'leaking data');
      const seen = await within5s(async () => {
        try {
          await two.call('probe', 'tool', 'slow', { ms: 0 }, scope);
          return false;
        } catch (error) {
          return (error as { code?: string }).code === 'plugin_disabled';
        }
      });
      expect(seen).toBe(true);
      await expect(inFlight).resolves.toBe('finished');
      await expect(two.route(operator, 'probe', { method: 'GET', path: '/hello', query: {}, body: null, headers: {} })).rejects.toMatchObject({
        code: 'not_found',
      });
      expect(() => two.assertUsable('probe', 'tool', 'slow')).toThrow(/plugin probe is disabled: leaking data/);
      expect(two.list()).toEqual(one.list());
      expect(two.list().find((p) => p.name === 'probe')).toMatchObject({ state: 'disabled', disabled_reason: 'leaking data' });

      // After a restart the switch still holds.
      const three = await PluginService.open({ projectDir: project, env: {}, production: false, store: pair.b, logger });
      expect(three.list().find((p) => p.name === 'probe')!.state).toBe('disabled');
      await three.close();

      await one.enable(operator, 'probe');
      expect(await within5s(() => Promise.resolve(two.list().find((p) => p.name === 'probe')!.state === 'enabled'))).toBe(true);
    } finally {
      await one.close();
      await two.close();
      await pair.close();
    }
  });

  it('keeps ctx.kv per tenant and records fs calls in the audit log', async () => {
    const pair = await open();
    const audit = new AuditService(pair.a);
    const service = await PluginService.open({ projectDir: project, env: {}, production: false, store: pair.a, logger, audit });
    try {
      expect(await service.call('probe', 'tool', 'remember', { value: { n: 1 } }, { tenantId: 'acme', runId: 'r1' })).toEqual({ n: 1 });
      expect(await service.call('probe', 'tool', 'recall', {}, { tenantId: 'acme', runId: 'r2' })).toEqual({ n: 1 });
      expect(await service.call('probe', 'tool', 'recall', {}, { tenantId: 'globex', runId: 'r3' })).toBeNull();

      await expect(service.call('probe', 'tool', 'note', { path: join(project, 'outside.txt') }, { tenantId: 'acme', runId: 'r4' })).rejects.toMatchObject({
        code: 'plugin_permission_denied',
      });
      const written = join(project, '.agentry/plugins/data/probe/n.txt');
      expect(await service.call('probe', 'tool', 'note', { path: written }, { tenantId: 'acme', runId: 'r5' })).toBe('ok');
      let entries: Array<{ action: string; target: string | null; outcome: string; tenant_id?: string | null; details?: unknown }> = [];
      expect(
        await within5s(async () => {
          entries = (await audit.list(operator, { limit: 50 })).items;
          return entries.filter((e) => e.action.startsWith('plugin.fs')).length >= 2;
        }),
      ).toBe(true);
      expect(entries).toContainEqual(
        expect.objectContaining({
          action: 'plugin.fs.write',
          target: join(project, 'outside.txt'),
          outcome: 'denied',
          details: { plugin: 'probe', run_id: 'r4' },
        }),
      );
      expect(entries).toContainEqual(expect.objectContaining({ action: 'plugin.fs.write', outcome: 'success', details: { plugin: 'probe', run_id: 'r5' } }));
    } finally {
      await service.close();
      await pair.close();
    }
  });
});
