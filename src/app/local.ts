/**
 * The services on the project's own store, for the CLI's local mode (no server): the same
 * use cases the HTTP API runs, so `agentry runs get` locally prints what `GET /v1/runs/{id}`
 * returns. Reading never creates the store.
 */
import type { Logger } from 'pino';
import type { Redactor } from '../lib/redact.js';
import type { CompiledWorkflow } from '../spec/model.js';
import { openAgentry, openStore, storeExists, type Project } from './bootstrap.js';
import type { Config } from './config.js';
import { AuditService } from './audit.js';
import { EventService } from './events.js';
import { FleetService } from './fleet.js';
import { RetentionService } from './retention.js';
import { KeysService, type GrantChecker } from './keys.js';
import { MemoryService } from './memory.js';
import { ScheduleService } from './schedules.js';
import { createServices, type Services } from './services.js';
import { UsageCallsService } from './usage-calls.js';
import { PluginService } from './plugin-service.js';

export interface LocalServices {
  services: Services;
  /** Where the runs are, for messages: the store's location. */
  where: string;
  /** Stops the engine (if started) and closes the store. */
  close(): Promise<void>;
}

export interface OpenLocalOptions {
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Open (and create) the store even when it does not exist yet. */
  createStore?: boolean;
  /**
   * The project, loaded and checked by the caller: needed to start runs. Without it the engine
   * works from the specs stored with each run (reading, cancelling, deciding, re-running).
   */
  project?: Project;
  /** Also execute runs in this process (worker pool and scheduler) until closed. */
  execute?: boolean;
  /** The logger's redactor, for `openAgentry` to add the project's secrets to. */
  redactor?: Redactor;
  /** Give the engine the maintenance tasks (retention), for a forced sweep (`agentry admin sweep --now`). */
  maintenance?: boolean;
}

/** The services on the store, or undefined when there is no store (and it must not be created). */
export async function openLocalServices(config: Config, options: OpenLocalOptions): Promise<LocalServices | undefined> {
  if (!options.createStore && !storeExists(config)) return undefined;
  const app = await openAgentry(config, {
    logger: options.logger,
    env: options.env,
    ...(options.project ? { project: options.project } : { withoutProject: true }),
    ...(options.redactor ? { redactor: options.redactor } : {}),
    // A command prints what happened to its runs itself (the run log is for server processes).
    logRuns: false,
    ...(options.maintenance === true ? { maintenance: true } : {}),
  });
  try {
    if (options.execute) await app.engine.start();
  } catch (error) {
    await app.close();
    throw error;
  }
  return { services: createServices({ ...app, runLimits: config.server.runStart }), where: app.store.location, close: () => app.close() };
}

/** Where a store that does not exist yet would be, for messages. */
export function missingStoreLocation(config: Config): string {
  return `${config.database.file} (no store there yet)`;
}

export interface LocalSchedules {
  schedules: ScheduleService;
  close(): Promise<void>;
}

/**
 * The schedule services on the store (opened, and created if need be), its rows first synced
 * with the project's workflows as a scheduler does when it starts: a changed `schedule:` shows,
 * and can be paused, before any scheduler ran. Only the store is opened, not an engine.
 */
export async function openLocalSchedules(
  config: Config,
  options: { logger: Logger; workflows: ReadonlyMap<string, CompiledWorkflow> },
): Promise<LocalSchedules> {
  const store = await openStore(config, { logger: options.logger });
  try {
    const schedules = new ScheduleService({ store, workflows: options.workflows, audit: new AuditService(store), tenant: config.tenant });
    await schedules.sync();
    return { schedules, close: () => store.close() };
  } catch (error) {
    await store.close();
    throw error;
  }
}

export interface LocalAudit {
  audit: AuditService;
  close(): Promise<void>;
}

/** The audit log of the project's store (opened, migrated; only the store, no engine). */
export async function openLocalAudit(config: Config, options: { logger: Logger }): Promise<LocalAudit> {
  const store = await openStore(config, { logger: options.logger });
  return { audit: new AuditService(store), close: () => store.close() };
}

export interface LocalUsageCalls {
  usageCalls: UsageCallsService;
  close(): Promise<void>;
}

/** The usage ledger's per-call view on the project's store (opened, migrated; only the store, no engine). */
export async function openLocalUsageCalls(config: Config, options: { logger: Logger }): Promise<LocalUsageCalls> {
  const store = await openStore(config, { logger: options.logger });
  return { usageCalls: new UsageCallsService(store), close: () => store.close() };
}

export interface LocalRetention {
  retention: RetentionService;
  close(): Promise<void>;
}

/** Retention on the project's store (opened, migrated; only the store, no engine). */
export async function openLocalRetention(config: Config, options: { logger: Logger }): Promise<LocalRetention> {
  const store = await openStore(config, { logger: options.logger });
  return { retention: new RetentionService(store, new AuditService(store)), close: () => store.close() };
}

export interface LocalMemory {
  memory: MemoryService;
  close(): Promise<void>;
}

/** Agents' conversation memory on the project's store (opened, migrated; only the store, no engine). */
export async function openLocalMemory(config: Config, options: { logger: Logger }): Promise<LocalMemory> {
  const store = await openStore(config, { logger: options.logger });
  return { memory: new MemoryService(store, new AuditService(store)), close: () => store.close() };
}

export interface LocalKeys {
  keys: KeysService;
  close(): Promise<void>;
}

/** The managed API keys of the project's store (opened, migrated; only the store, no engine). */
export async function openLocalKeys(config: Config, options: { logger: Logger; checkGrants: GrantChecker }): Promise<LocalKeys> {
  const store = await openStore(config, { logger: options.logger });
  return {
    keys: new KeysService({ store, audit: new AuditService(store), checkGrants: options.checkGrants, defaultTenant: config.tenant }),
    close: () => store.close(),
  };
}

export interface LocalEvents {
  events: EventService;
  close(): Promise<void>;
}

/** The event query on the project's store (opened, migrated; only the store, no engine). */
export async function openLocalEvents(config: Config, options: { logger: Logger }): Promise<LocalEvents> {
  const store = await openStore(config, { logger: options.logger });
  return { events: new EventService(store), close: () => store.close() };
}

export interface LocalFleet {
  fleet: FleetService;
  close(): Promise<void>;
}

/**
 * The worker registry and maintenance mode of the project's store (opened, checked; only the
 * store, no engine), or undefined when there is no store yet (and `createStore` is not set).
 */
export async function openLocalFleet(config: Config, options: { logger: Logger; createStore?: boolean }): Promise<LocalFleet | undefined> {
  if (!options.createStore && !storeExists(config)) return undefined;
  const store = await openStore(config, { logger: options.logger });
  return {
    fleet: new FleetService({ store, audit: new AuditService(store), staleAfterMs: config.engine.leaseTtlMs * 3, deploymentTenant: config.tenant }),
    close: () => store.close(),
  };
}

export interface LocalPlugins {
  plugins: PluginService;
  close(): Promise<void>;
}

/** The project's plugins with the fleet's switches of its store (opened, migrated; no plugin runtime starts until called). */
export async function openLocalPlugins(config: Config, options: { logger: Logger; env: NodeJS.ProcessEnv }): Promise<LocalPlugins> {
  const store = await openStore(config, { logger: options.logger });
  try {
    const plugins = await PluginService.open({
      projectDir: config.projectDir,
      env: options.env,
      production: config.env === 'production',
      store,
      logger: options.logger,
      audit: new AuditService(store),
      deploymentTenant: config.tenant,
    });
    return {
      plugins,
      close: async () => {
        await plugins.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}
