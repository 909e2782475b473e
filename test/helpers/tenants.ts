/**
 * Two tenants on one API for the isolation suites: `acme` and `globex`, each with a bootstrap
 * key of every built-in role bound to it (`tenant:<id>`; its `admin` is bound too, so it is no
 * system admin), a system admin of the deployment (`root`: role admin, no tenant) and the
 * break-glass key; and in each tenant its own objects, made through the API by its own keys: a
 * sleeping run, an ended run, a map run, a run waiting for a signal, an open human task, a
 * schedule, LLM usage and audit entries.
 */
import type { InjectOptions } from 'fastify';
import { authSettings } from '../../src/server/auth.js';
import { ROLES, type Role } from '../../src/server/scopes.js';
import { openTask } from './engine.js';
import { fixtureToolSpec, MOCK_GATEWAY, startTestApi, WORKFLOWS, type TestApi } from './server.js';
import type { StoreFactory } from './store.js';
import { stepWaiting, TASK_WORKFLOWS } from './tasks.js';

export const TENANTS = ['acme', 'globex'] as const;
export type Tenant = (typeof TENANTS)[number];

/** The other tenant. */
export function otherThan(tenant: Tenant): Tenant {
  return tenant === 'acme' ? 'globex' : 'acme';
}

/** The key of `role` bound to `tenant`; its principal name is `<tenant>-<role>`. */
export function tenantKey(tenant: Tenant, role: Role): string {
  return `${tenant}-${role}-key-0123456789abcdef`;
}

/** A system admin of the deployment (role admin without `tenant:`), acting in tenant `default` unless it names another. */
export const ROOT_KEY = 'root-key-0123456789abcdef';
/** The break-glass key (`AGENTRY_ADMIN_API_KEY`). */
export const BREAK_GLASS_KEY = 'break-glass-key-0123456789abcdef';

const TENANT_KEYS = TENANTS.flatMap((t) => ROLES.map((role) => `${t}-${role}:${tenantKey(t, role)}:${role},tenant:${t}`));
export const TENANT_API_KEYS = [...TENANT_KEYS, `root:${ROOT_KEY}:admin`].join(';');

export function bearerOf(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

/** A map of two hour-long naps (items listed whatever their state), a scheduled workflow per tenant. */
const TENANT_WORKFLOWS: Record<string, unknown>[] = [
  { name: 'naps', steps: { each: { for_each: { from: 'input.items' }, sleep: '1h' } } },
  ...TENANTS.map((t) => ({ name: `yearly_${t}`, schedule: { cron: '0 0 1 1 *', tenant: t }, steps: { a: { transform: 1 } } })),
];

/** What one tenant holds: ids of its objects, each made by its own keys. */
export interface TenantObjects {
  /** A run of `nap`, sleeping for an hour (started by its operator). */
  napRun: string;
  /** A cancelled run of `nap` (a retry needs an ended run). */
  endedRun: string;
  /** A run of `naps` with two items. */
  mapRun: string;
  /** A run of `gate` waiting for signal `go`. */
  gateRun: string;
  /** An open task (of a run of `approval`). */
  task: string;
  taskRun: string;
  /** Its scheduled workflow. */
  schedule: string;
  /** A managed API key's id (made by its admin). */
  key: string;
  /** A conversation memory thread of agent `helper` (only this tenant keeps one of that id). */
  memoryThread: string;
}

export interface TenantWorld {
  api: TestApi;
  objects: Record<Tenant, TenantObjects>;
  /** Every id of `tenant`'s objects, and the tenant's own name: what must never show to another tenant. */
  secretsOf(tenant: Tenant): string[];
}

async function post(api: TestApi, key: string, url: string, payload: unknown = {}): Promise<Record<string, unknown>> {
  const res = await api.app.inject({ method: 'POST', url, payload: payload as InjectOptions['payload'], headers: bearerOf(key) });
  if (res.statusCode >= 300) throw new Error(`POST ${url} answered ${res.statusCode}: ${res.body}`);
  return res.json<Record<string, unknown>>();
}

async function populate(api: TestApi, tenant: Tenant): Promise<TenantObjects> {
  const operator = tenantKey(tenant, 'operator');
  const start = async (workflow: string, input: unknown = {}): Promise<string> =>
    (await post(api, operator, `/v1/workflows/${workflow}/runs`, { input })).id as string;
  const napRun = await start('nap');
  const endedRun = await start('nap');
  await post(api, operator, `/v1/runs/${endedRun}/cancel`);
  const mapRun = await start('naps', { items: [1, 2] });
  const gateRun = await start('gate');
  await stepWaiting(api.engine, gateRun, 'go');
  const taskRun = await start('approval', { item: tenant });
  const task = (await openTask(api.store, taskRun)).id;
  // LLM usage of the tenant (its service key calls the gateway).
  await post(api, tenantKey(tenant, 'service'), '/v1/chat/completions', { model: 'demo', messages: [{ role: 'user', content: `hi from ${tenant}` }] });
  const key = ((await post(api, tenantKey(tenant, 'admin'), '/v1/admin/keys', { name: `robot-${tenant}`, roles: ['viewer'] })).key as { id: string }).id;
  const memoryThread = `memory-${tenant}-thread`;
  await api.store.appendMemory(tenant, 'helper', memoryThread, [{ role: 'user', content: `remember ${tenant}` }], 50, Date.now());
  return { napRun, endedRun, mapRun, gateRun, task, taskRun, schedule: `yearly_${tenant}`, key, memoryThread };
}

/** The API on a fresh store of `factory`, with both tenants' keys and objects. */
export async function startTenantWorld(factory: StoreFactory): Promise<TenantWorld> {
  const api = await startTestApi({
    factory,
    gateway: MOCK_GATEWAY,
    tools: [fixtureToolSpec()],
    workflows: [...WORKFLOWS, ...TASK_WORKFLOWS, ...TENANT_WORKFLOWS],
    app: { auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: TENANT_API_KEYS, adminApiKey: BREAK_GLASS_KEY }) },
  });
  const objects = { acme: await populate(api, 'acme'), globex: await populate(api, 'globex') };
  return {
    api,
    objects,
    secretsOf: (tenant): string[] => [tenant, ...(Object.values(objects[tenant]) as string[])],
  };
}
