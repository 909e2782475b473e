/**
 * The API on a fresh SQLite store: the store is wrapped by an `EventFeed` (as `agentry serve`
 * does), the engine polls quickly, and there is one API key per built-in role.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { Engine, type EngineSettings } from '../../src/engine/engine.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import { buildApp, type AppOptions } from '../../src/server/app.js';
import { authSettings, ROLES, type Role } from '../../src/server/auth.js';
import { EventFeed } from '../../src/server/event-feed.js';
import type { Store } from '../../src/store/store.js';
import { compileAll, silentLogger } from './engine.js';
import { sqliteFactory } from './store.js';

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

export interface TestApi {
  app: FastifyInstance;
  engine: Engine;
  store: Store;
  feed: EventFeed;
  /** Headers authenticating as `role` (none for `null`). */
  auth: (role: Role | null) => Record<string, string>;
  close: () => Promise<void>;
}

export interface TestApiOptions {
  app?: Partial<AppOptions>;
  engine?: Partial<EngineSettings>;
  /** Start the engine's worker pool (default true). */
  start?: boolean;
  /** Replace the store the app and engine use (e.g. to break it). */
  wrapStore?: (store: Store) => Store;
}

export async function startTestApi(options: TestApiOptions = {}): Promise<TestApi> {
  const { store: raw, cleanup } = await sqliteFactory.open();
  const feed = new EventFeed();
  const store = feed.wrap(options.wrapStore ? options.wrapStore(raw) : raw);
  const executors = defaultExecutors();
  const engine = new Engine({
    store,
    workflows: compileAll(WORKFLOWS, executors),
    executors: createExecutorRegistry(executors),
    executorSettings: DEFAULT_EXECUTOR_SETTINGS,
    logger: silentLogger,
    settings: { pollIntervalMs: 50, leaseTtlMs: 2_000, shutdownGraceMs: 1_000, ...options.engine },
    env: {},
  });
  if (options.start !== false) await engine.start();
  const app = await buildApp({
    engine,
    store,
    feed,
    logger: silentLogger,
    version: '0.0.0-test',
    auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: API_KEYS }),
    ssePollMs: 100,
    ...options.app,
  });
  await app.ready();
  return {
    app,
    engine,
    store,
    feed,
    auth: (role): Record<string, string> => (role === null ? {} : { authorization: `Bearer ${KEYS[role]}` }),
    close: async () => {
      await app.close();
      await engine.stop();
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
