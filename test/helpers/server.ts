/**
 * The API on a fresh SQLite store: the store is wrapped by an `EventFeed` (as `agentry serve`
 * does), the engine polls quickly, and there is one API key per built-in role.
 */
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import { storeLedger } from '../../src/app/usage-ledger.js';
import { storeResponseCache } from '../../src/app/response-cache.js';
import type { ResponseCache } from '../../src/gateway/cache.js';
import { AuditService } from '../../src/app/audit.js';
import { PluginService } from '../../src/app/plugin-service.js';
import { Engine, type EngineSettings } from '../../src/engine/engine.js';
import { Gateway } from '../../src/gateway/gateway.js';
import { createToolExecutor } from '../../src/runtime/tool.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import type { ExecutorSettings, StepExecutor } from '../../src/runtime/types.js';
import { buildApp, type AppOptions } from '../../src/server/app.js';
import { authSettings } from '../../src/server/auth.js';
import { ROLES, type Role } from '../../src/server/scopes.js';
import { EventFeed } from '../../src/app/event-feed.js';
import type { Redactor } from '../../src/lib/redact.js';
import { resolveLimits, type LimitsSettings, type LimitsSpec } from '../../src/spec/limits.js';
import type { Problem } from '../../src/spec/diagnostics.js';
import type { GatewaySpec, ToolSpec } from '../../src/spec/schemas.js';
import type { Store } from '../../src/store/store.js';
import { createToolHub, type ToolHub } from '../../src/tools/hub.js';
import { MCP_FIXTURE_STDIO } from './mcp-fixture.js';
import { compileAll, silentLogger } from './engine.js';
import { sqliteFactory, type StoreFactory } from './store.js';

export const KEYS: Record<Role, string> = Object.fromEntries(ROLES.map((role) => [role, `${role}-key-0123456789abcdef`])) as Record<Role, string>;
export const API_KEYS = ROLES.map((role) => `${role}:${KEYS[role]}:${role}`).join(';');

export const WORKFLOWS: Record<string, unknown>[] = [
  {
    name: 'hello',
    input: { schema: { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 } }, additionalProperties: false } },
    steps: {
      greet: { transform: { greeting: 'Hello, {{ input.name }}!' } },
      done: { needs: ['greet'], transform: { message: '{{ steps.greet.output.greeting }}' } },
    },
    output: '{{ steps.done.output }}',
  },
  {
    name: 'slow',
    steps: {
      a: { transform: { n: 1 } },
      b: { needs: ['a'], sleep: '300ms' },
      c: { needs: ['b'], transform: { n: 2 } },
      d: { needs: ['c'], sleep: '300ms' },
      e: { needs: ['d'], transform: { n: 3 } },
    },
  },
  { name: 'nap', steps: { long: { sleep: '1h' } } },
];

/** A gateway.yaml with one `mock` model group, `demo` (priced so every call costs something). */
export const MOCK_GATEWAY: GatewaySpec = {
  providers: {
    demo: { type: 'mock', script: [{ when: { last_user_contains: 'tools please' }, reply: { tool_calls: [{ name: 'lookup', arguments: { q: 'acme' } }] } }] },
  },
  models: { demo: { description: 'Scripted replies', targets: [{ provider: 'demo', model: 'demo-1', input_per_mtok: 1, output_per_mtok: 2 }] } },
};

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
/** The MCP fixture server over stdio (compiled by the global setup, `build-dist.ts`). */
export function fixtureToolSpec(name = 'fx'): ToolSpec {
  return { name, command: process.execPath, args: MCP_FIXTURE_STDIO };
}

export interface TestApi {
  app: FastifyInstance;
  engine: Engine;
  store: Store;
  feed: EventFeed;
  /** With `options.gateway`: the in-process gateway (its ledger is the store). */
  gateway: Gateway | undefined;
  /** With `options.tools`: the tool hub (the engine's `tool` steps use it too). */
  tools: ToolHub | undefined;
  /** Headers authenticating as `role` (none for `null`). */
  auth: (role: Role | null) => Record<string, string>;
  close: () => Promise<void>;
}

export interface TestApiOptions {
  app?: Partial<AppOptions>;
  engine?: Partial<EngineSettings>;
  /** Over the default executor settings (e.g. artifact limits). */
  executorSettings?: Partial<ExecutorSettings>;
  /** Start the engine's worker pool (default true). */
  start?: boolean;
  /** Replace the store the app and engine use (e.g. to break it). */
  wrapStore?: (store: Store) => Store;
  /** Serve the gateway routes with an in-process gateway of this spec (e.g. `MOCK_GATEWAY`). */
  gateway?: GatewaySpec;
  /** The gateway's response cache (default: the store's). */
  cache?: ResponseCache;
  /** The environment the gateway reads its keys from (default none). */
  gatewayEnv?: Record<string, string>;
  /** Tool servers for `/v1/tools` and `tool` steps (e.g. `[fixtureToolSpec()]`). */
  tools?: ToolSpec[];
  /** Workflows (default `WORKFLOWS`). */
  workflows?: Record<string, unknown>[];
  /** More step executors (e.g. a stand-in for `agent`, so workflows with agent steps compile). */
  executors?: StepExecutor[];
  /** The store (default: SQLite). */
  factory?: StoreFactory;
  /** The process's redactor, given to the engine and the app (as `agentry serve` does). */
  redactor?: Redactor;
  /** A project directory whose `agentry-plugins.lock` the app's plugins are opened from (`PluginService` on the test store). */
  pluginProject?: string;
  /** The deployment's tenant (`AGENTRY_TENANT`), given to the engine and the default auth settings (default `default`). */
  tenant?: string;
  /** Rate limits and run quotas (`limits:` of agentry.yaml, resolved); default the built-in ones. */
  limits?: LimitsSettings;
  /** The logger of the engine, the gateway, the tool hub and the app (default silent; `app.logger` overrides it for the app). */
  logger?: Logger;
}

export async function startTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const { store: raw, cleanup } = await (options.factory ?? sqliteFactory).open();
  const feed = new EventFeed();
  const store = options.wrapStore ? options.wrapStore(raw) : raw;
  const logger = options.logger ?? silentLogger;
  const gateway = options.gateway
    ? new Gateway({ spec: options.gateway, env: options.gatewayEnv ?? {}, logger, ledger: storeLedger(raw), cache: options.cache ?? storeResponseCache(raw) })
    : undefined;
  const tools = options.tools ? createToolHub({ specs: new Map(options.tools.map((t) => [t.name, t])), env: {}, projectDir: REPO_ROOT, logger }) : undefined;
  const executors = [...defaultExecutors(), ...(tools ? [createToolExecutor(tools)] : []), ...(options.executors ?? [])];
  const engine = new Engine({
    store,
    workflows: compileAll(options.workflows ?? WORKFLOWS, executors),
    executors: createExecutorRegistry(executors),
    executorSettings: { ...DEFAULT_EXECUTOR_SETTINGS, ...options.executorSettings },
    logger,
    settings: { pollIntervalMs: 50, leaseTtlMs: 2_000, shutdownGraceMs: 1_000, ...options.engine },
    env: {},
    ...(options.redactor ? { redactor: options.redactor } : {}),
    ...(options.tenant === undefined ? {} : { tenant: options.tenant }),
    ...(options.limits ? { limits: options.limits } : {}),
  });
  feed.attach(engine);
  if (options.start !== false) await engine.start();
  // Open every pooled PostgreSQL connection now: one first opened during a test would count as
  // a leak (the pool keeps it), though a suite shares this API across its tests.
  await Promise.all(Array.from({ length: 10 }, () => store.listTasks({ limit: 1 })));
  const plugins =
    options.pluginProject === undefined
      ? undefined
      : await PluginService.open({
          projectDir: options.pluginProject,
          env: {},
          production: false,
          store,
          logger,
          audit: new AuditService(store),
          deploymentTenant: options.tenant ?? 'default',
        });
  const app = await buildApp({
    engine,
    store,
    feed,
    plugins,
    logger,
    version: '0.0.0-test',
    auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS, tenant: options.tenant }),
    ssePollMs: 100,
    gateway,
    tools,
    ...(options.redactor ? { redactor: options.redactor } : {}),
    ...options.app,
  });
  await app.ready();
  return {
    app,
    engine,
    store,
    feed,
    gateway,
    tools,
    auth: (role): Record<string, string> => (role === null ? {} : { authorization: `Bearer ${KEYS[role]}` }),
    close: async () => {
      await app.close();
      await engine.stop();
      await tools?.close();
      await plugins?.close();
      await cleanup();
    },
  };
}

/** Listens on 127.0.0.1 on a free port and returns the base URL. */
export async function listen(app: FastifyInstance): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = app.server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

/** `limits:` of agentry.yaml as the engine takes it (throws on a problem the schema would not catch). */
export function limitsFrom(spec: LimitsSpec): LimitsSettings {
  const problems: Problem[] = [];
  const limits = resolveLimits([{ limits: spec, path: [] }], problems);
  if (problems.length > 0) throw new Error(`bad limits: ${JSON.stringify(problems)}`);
  return limits;
}
