/**
 * Wiring shared by the CLI and the HTTP server: configuration → project → store → engine.
 * Each piece is also exported on its own so a command can check its input against the
 * project before it opens (or creates) the store.
 */
import { ActivePolicy, policySourcesOf, runStartGate } from './active-policy.js';
import { existsSync } from 'node:fs';
import type { Logger } from 'pino';
import { maskSecrets, type Redactor } from '../lib/redact.js';
import { projectSecrets, redactorFor } from './secrets.js';
import type { Config } from './config.js';
import { Engine } from '../engine/engine.js';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import { resolveBudgets, type ResolvedBudgets } from '../gateway/config.js';
import { Gateway } from '../gateway/gateway.js';
import { RemoteGateway } from '../gateway/remote.js';
import { storeLanes } from '../gateway/throttle.js';
import { newId } from '../lib/ids.js';
import { remoteGatewayOptions } from './remote-gateway.js';
import { LeasingLedger } from './budget-leases.js';
import { storeResponseCache } from './response-cache.js';
import { LedgerWriter, withLedgerWriter } from './ledger-writer.js';
import { createAgentExecutor, hubTools, type ChatClient, type GuardrailObserver } from '../runtime/agent.js';
import type { AgentMemoryStore } from '../runtime/agent-memory.js';
import { createExecutorRegistry, defaultExecutors, type ExecutorRegistry } from '../runtime/registry.js';
import { createToolExecutor } from '../runtime/tool.js';
import { createToolHub, type ToolHub } from '../tools/hub.js';
import { toolSwitchWatch } from './tool-switches.js';
import { PluginService } from './plugin-service.js';
import { createPluginExecutor } from './plugin-step.js';
import { withPluginTools } from './plugin-tools.js';
import { formatDiagnostic, type EnvironmentChoice } from '../spec/index.js';
import { assertProjectDir, AVAILABLE_KINDS, loadProject } from './project.js';
import { instrument } from './metrics.js';
import { Metrics } from '../obs/metrics.js';
import { VERSION } from '../lib/version.js';
import { AuditService, auditRetentionTask } from './audit.js';
import type { MaintenanceTask } from '../engine/scheduler.js';
import { RetentionService, retentionConfigured, retentionTask } from './retention.js';
import { assertSchemaCurrent, emptyStatus, logMigrations, migrationStatus, storeInfo, type MigrationStatus } from './migrations.js';
import { specsFromBundle, withBundleDir, type SpecBundleInfo } from './bundle-load.js';
import { withSecretFiles } from './secret-files.js';
import type { CompiledWorkflow } from '../spec/model.js';
import { projectWorkflows, withBuiltinWorkflows } from '../spec/builtin.js';
import { openStore as openStoreAt, waitForStore } from '../store/open.js';
import { acquireSqliteServerLock, type SqliteServerLock } from '../store/sqlite-server-lock.js';
import type { MigrationReport, Store, StoreObserver } from '../store/store.js';
import { assertSqliteIntact } from './database.js';

/** A loaded project; `bundle` is set when its specs came from a (verified) bundle. */
export type Project = Awaited<ReturnType<typeof loadProject>>['project'] & { readonly bundle?: SpecBundleInfo };

/** Production mode's refusals (development: warnings), for the commands that start processes. */
export { checkStartup } from './startup-checks.js';

/** The roles an engine can take in a process (`agentry start worker|scheduler`): for the commands that start processes. */
export { ENGINE_ROLES, type EngineRole } from '../engine/engine.js';

export interface Agentry {
  readonly config: Config;
  /** Undefined when opened without a project (commands that only read runs). */
  readonly project: Project | undefined;
  readonly store: Store;
  readonly engine: Engine;
  /** The in-process LLM gateway (when the project has a gateway.yaml and no remote gateway is configured). */
  readonly gateway: Gateway | undefined;
  /** The budgets of the project's gateway.yaml (also when the gateway is a separate process). */
  readonly budgets: ResolvedBudgets | undefined;
  /** The project's MCP tool servers (when it has any). */
  readonly tools: ToolHub | undefined;
  /** The plugins of the project's `agentry-plugins.lock` with the fleet's switches (a server process follows them; undefined without a project). */
  readonly plugins: PluginService | undefined;
  /** Masks every secret this process knows (configuration, the project's secrets, provider keys): for what it logs, stores and answers. */
  readonly redactor: Redactor;
  /** The process's Prometheus metrics, fed by the store, engine, gateway and tool servers opened here (`/metrics` serves them). */
  readonly metrics: Metrics;
  /** Stops the engine (if started) and closes the store. Safe to call twice. */
  close(): Promise<void>;
}

export interface OpenOptions {
  logger: Logger;
  /** A project already loaded (and checked) by the caller; otherwise it is loaded here. */
  project?: Project;
  /** Open the store and engine without loading a project (runs listing, cancel). */
  withoutProject?: boolean;
  /** Environment the workflows' `{{ env.* }}` templates read (default `process.env`). */
  env?: NodeJS.ProcessEnv;
  workerId?: string;
  /** Wait while the database is unreachable (worker and scheduler processes started before it). */
  waitForDatabase?: AbortSignal;
  /**
   * The process's redactor (the one its logger uses, from `redactorFor(config)`); the
   * project's secrets are added to it. Default: a new one from `config`.
   */
  redactor?: Redactor;
  /**
   * A long-running server process (`serve`, `start worker|scheduler|api`). On SQLite it holds the
   * database's server lock while open, so a second server process on the same file is refused
   * with `store_in_use` instead of failing later with "database is locked"; one-off commands
   * leave it unset and share the file safely.
   */
  serverProcess?: boolean;
  /**
   * Log each run's story (run started and ended, step failures, retries, lease expiries) from
   * what this process commits; default true. The CLI's local and interactive commands, which
   * print what happened themselves, turn it off.
   */
  logRuns?: boolean;
  /**
   * Give the engine the maintenance tasks (the audit log's and the runs' retention) although this
   * is no server process: `agentry admin sweep --now` runs them once. Server processes always have them.
   */
  maintenance?: boolean;
}

/** The SQLite server lock of a server process (nothing for PostgreSQL, an in-memory store or another process role). */
function serverLockFor(config: Config, serverProcess: boolean | undefined): SqliteServerLock | undefined {
  if (!serverProcess || config.database.kind !== 'sqlite' || config.database.file === ':memory:') return undefined;
  return acquireSqliteServerLock(config.database.file);
}

// Defined with the project loading (validate needs them without the store and engine).
export { AVAILABLE_KINDS } from './project.js';

/** The executors of a project: the built-in kinds, plus tool, plugin and agent steps when it has tools, plugins and a gateway. */
export function executorRegistry(
  parts: {
    tools?: ToolHub | undefined;
    chat?: ChatClient | undefined;
    agents?: Project['agents'];
    observer?: GuardrailObserver | undefined;
    memory?: AgentMemoryStore | undefined;
    plugins?: PluginService | undefined;
  } = {},
): ExecutorRegistry {
  const executors = [...defaultExecutors()];
  if (parts.tools) executors.push(createToolExecutor(parts.tools));
  if (parts.plugins) executors.push(createPluginExecutor(parts.plugins));
  const tools = parts.tools && hubTools(parts.tools);
  if (parts.chat)
    executors.push(
      createAgentExecutor({
        agents: parts.agents ?? new Map(),
        chat: parts.chat,
        tools: parts.plugins ? withPluginTools(tools, parts.plugins) : tools,
        observer: parts.observer,
        memory: parts.memory,
      }),
    );
  return createExecutorRegistry(executors);
}

/**
 * Loads the project; a project with errors is a `spec_invalid` error listing every diagnostic.
 * With `AGENTRY_BUNDLE` / `AGENTRY_REQUIRE_SIGNED_SPECS` the specs come from the verified bundle
 * instead (`bundle_invalid` when it is refused); `dir` stays the project directory.
 */
export async function loadProjectOrThrow(config: Config, rawEnv: NodeJS.ProcessEnv = process.env): Promise<Project> {
  assertProjectDir(config.projectDir);
  const env = secretEnv(config, rawEnv);
  if (specsFromBundle(config)) {
    const { value, bundle } = await withBundleDir(config, (dir) => loadCheckedProject(dir, env, `bundle ${config.specs.bundle ?? ''}`, config));
    return { ...value, dir: config.projectDir, bundle };
  }
  return loadCheckedProject(config.projectDir, env, `project ${config.projectDir}`, config);
}

/** The environment of `agentry.yaml` the configuration activates: `AGENTRY_ENVIRONMENT`, else the one named like the mode when declared. */
export function environmentOf(config: Config): EnvironmentChoice {
  return config.environment === undefined
    ? { name: config.env, implicit: true, source: 'AGENTRY_ENV' }
    : { name: config.environment, source: 'AGENTRY_ENVIRONMENT' };
}

async function loadCheckedProject(dir: string, env: NodeJS.ProcessEnv, label: string, config: Config): Promise<Project> {
  const { project, diagnostics } = await loadProject(dir, {
    availableKinds: AVAILABLE_KINDS,
    env,
    environment: environmentOf(config),
    pluginsDir: config.projectDir,
  });
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const lines = errors.map((d) => `\n  ${formatDiagnostic(d)}`).join('');
    throw new AgentryError('spec_invalid', `${label} is invalid (${errors.length} error${errors.length === 1 ? '' : 's'}):${lines}`, {
      details: { diagnostics },
    });
  }
  return project;
}

/** The environment with provider keys and the secrets the project's files reference read from their `NAME_FILE`. */
function secretEnv(config: Config, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!existsSync(config.projectDir)) return env;
  const { env: filled, problems } = withSecretFiles(env, config.projectDir);
  if (problems.length > 0)
    throw new AgentryError('invalid_request', `invalid secret files:${problems.map((p) => `\n  - ${p}`).join('')}`, { details: { problems } });
  return filled;
}

/** True when the store already exists (commands that only read must not create it); a server database always does. */
export function storeExists(config: Config): boolean {
  if (config.database.kind === 'postgres') return true;
  return config.database.file === ':memory:' || existsSync(config.database.file);
}

export interface OpenStoreOptions {
  logger?: Logger;
  /** Told how each write transaction ends (the process's metrics). */
  observer?: StoreObserver;
  /** Wait (retrying, logging once) while the database is unreachable, until it is up or this aborts. */
  waitForDatabase?: AbortSignal;
  /** Who applies pending migrations, as their audit entries record it (default `system`). */
  migrateAs?: string;
  /** Apply pending migrations whatever `config.autoMigrate` says (`agentry migrate up`). */
  forceMigrate?: boolean;
  /** Log each migration applied at `info` (server processes, `agentry migrate up`); other commands log it at `debug`. */
  logMigrations?: boolean;
}

/**
 * Opens the store and checks its schema: pending migrations are applied when
 * `config.autoMigrate` (SQLite by default) and refused otherwise (`migrations_pending`); a
 * schema newer than this build is refused either way (`schema_too_new`).
 */
export async function openStore(config: Config, options: OpenStoreOptions = {}): Promise<Store> {
  return (await openAndMigrate(config, options)).store;
}

/** Opens the store, applies pending migrations (each an audit entry by `principal`, and a log line) and closes it: `agentry migrate up`. */
export async function migrateStore(config: Config, options: { logger?: Logger; principal: string }): Promise<{ location: string; report: MigrationReport }> {
  const { store, report } = await openAndMigrate(config, {
    ...(options.logger ? { logger: options.logger } : {}),
    migrateAs: options.principal,
    forceMigrate: true,
    logMigrations: true,
  });
  await store.close();
  return { location: store.location, report };
}

/** Where the store's schema stands, without changing anything: `agentry migrate status`. */
export async function readMigrationStatus(config: Config, options: { logger?: Logger } = {}): Promise<MigrationStatus> {
  // Reading never creates the store: an SQLite file not there yet is an empty database.
  if (!storeExists(config)) return emptyStatus(`sqlite:${config.database.file ?? ''}`);
  const store = openUnchecked(config, options);
  try {
    return await migrationStatus(store);
  } catch (error) {
    throw toAgentryError(error, 'store_unavailable');
  } finally {
    await store.close();
  }
}

/** The store the configuration names, opened (nothing connected yet) but neither checked nor migrated. */
function openUnchecked(config: Config, options: Pick<OpenStoreOptions, 'logger' | 'observer'>): Store {
  try {
    return openStoreAt(config.database.kind === 'sqlite' ? config.database : { kind: 'postgres', url: config.databaseUrl }, {
      ...(config.database.kind === 'postgres' ? config.database.options : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.observer ? { observer: options.observer } : {}),
    });
  } catch (error) {
    if (error instanceof AgentryError && error.code === 'store_unsupported') throw error;
    throw new AgentryError('store_unavailable', `cannot open ${maskSecrets(config.databaseUrl)}: ${toAgentryError(error).message}`, { cause: error });
  }
}

async function openAndMigrate(config: Config, options: OpenStoreOptions): Promise<{ store: Store; report: MigrationReport }> {
  const store = openUnchecked(config, options);
  const migrate = options.forceMigrate === true || config.autoMigrate;
  const open = migrate
    ? () =>
        store.migrate({
          ...(options.migrateAs === undefined ? {} : { principal: options.migrateAs }),
          ...(options.logger ? { onApplied: logMigrations(options.logger, options.logMigrations === true ? 'info' : 'debug') } : {}),
        })
    : () => assertSchemaCurrent(store);
  try {
    const report =
      options.waitForDatabase && options.logger ? await waitForStore(store, { signal: options.waitForDatabase, logger: options.logger, open }) : await open();
    return { store, report };
  } catch (error) {
    await store.close().catch(() => undefined);
    const normalised = toAgentryError(error, 'migration_failed');
    if (normalised.code !== 'internal') throw normalised;
    throw new AgentryError('migration_failed', `migrating ${store.location} failed: ${normalised.message}`, { cause: error });
  }
}

/** Project, store and engine, ready to start runs (call `engine.start()` to also execute them here). */
export async function openAgentry(config: Config, options: OpenOptions): Promise<Agentry> {
  const env = secretEnv(config, options.env ?? process.env);
  const project = options.withoutProject ? undefined : (options.project ?? (await loadProjectOrThrow(config, env)));
  const redactor = options.redactor ?? redactorFor(config);
  if (project) redactor.add(projectSecrets(project, env));
  const lock = serverLockFor(config, options.serverProcess);
  // One registry per process: the store, gateway, tool servers and engine opened here all report to it.
  const metrics = new Metrics({ version: VERSION });
  let store: Store;
  try {
    // A damaged SQLite file is refused before anything reads or writes it (INC-04).
    if (options.serverProcess && config.database.kind === 'sqlite') assertSqliteIntact(config.database.file);
    const opened = await openAndMigrate(config, {
      logger: options.logger,
      observer: metrics,
      logMigrations: options.serverProcess === true,
      ...(options.waitForDatabase ? { waitForDatabase: options.waitForDatabase } : {}),
    });
    store = opened.store;
    // Which database, at which schema: a stale or mistaken database is plain in a server's first lines.
    if (options.serverProcess) {
      const info = await storeInfo(store, opened.report);
      options.logger.info(
        {
          event: 'store.opened',
          store: info.location,
          store_kind: info.kind,
          schema_version: info.schema_version,
          schema_latest: info.latest,
          migrations_applied: opened.report.applied,
        },
        `store ${info.location} at schema ${info.schema_version} (latest ${info.latest})`,
      );
    }
  } catch (error) {
    metrics.close();
    lock?.release();
    throw error;
  }
  // Every process knows the built-in workflows (`agentry-smoke`, `agentry-smoke-review`): the API starts them, workers run them.
  const workflows = withBuiltinWorkflows(project?.workflows ?? new Map<string, CompiledWorkflow>());
  let gateway: Gateway | undefined;
  let tools: ToolHub | undefined;
  let plugins: PluginService | undefined;
  try {
    if (project?.gateway && !config.gateway) {
      // The gateway's records are written in batches off the request path; budgets are checked against leases (budget-leases.ts).
      const writer = new LedgerWriter(store, { logger: options.logger });
      store = withLedgerWriter(store, writer);
      gateway = new Gateway({
        spec: project.gateway,
        env,
        logger: options.logger,
        ledger: new LeasingLedger(store, writer),
        observer: metrics,
        cache: storeResponseCache(store),
        // The upstream limits hold for the fleet: every process on the store takes its slots from the same lanes.
        lanes: storeLanes(store),
      });
    }
    if (gateway) redactor.add(gateway.secretValues);
    if (project && project.tools.size > 0) {
      const egress = { mode: config.env, allowLinkLocal: config.http.allowLinkLocal, project: project.settings.egress };
      tools = createToolHub({ specs: project.tools, env, projectDir: project.dir, logger: options.logger, egress, observer: metrics });
      // The fleet's tool switches apply before this process runs a step, and follow the store after.
      await toolSwitchWatch(store, tools).start(options.logger);
    }
    if (project) {
      // Every replica built from the same lock runs the same plugins; a server follows the fleet's switches (disable/enable).
      const audit = new AuditService(store);
      plugins = await PluginService.open({
        projectDir: project.dir,
        env,
        production: config.env === 'production',
        store,
        logger: options.logger,
        audit,
        deploymentTenant: config.tenant,
        agents: project.agents,
      });
      if (options.serverProcess === true) plugins.watch();
    }
  } catch (error) {
    if (tools) toolSwitchWatch(store, tools).stop();
    await plugins?.close();
    await store.close();
    metrics.close();
    lock?.release();
    throw error;
  }
  // The worker id is chosen here: a remote gateway's internal tokens name it (`sub`).
  const workerId = options.workerId ?? newId('wrk');
  const remote = remoteGatewayOptions(config, 'worker', workerId);
  const chat: ChatClient | undefined = remote ? new RemoteGateway(remote) : gateway;
  const engine = new Engine({
    store,
    workflows,
    executors: executorRegistry({ tools, chat, agents: project?.agents, observer: metrics, memory: store, plugins }),
    executorSettings: { http: { ...config.http }, egress: { mode: config.env, rules: project?.settings.egress }, artifacts: { ...config.artifacts } },
    logger: options.logger,
    settings: config.engine,
    env,
    redactor,
    tenant: config.tenant,
    ...(project ? { limits: project.settings.limits } : {}),
    workerId,
    ...(options.logRuns === undefined ? {} : { logRuns: options.logRuns }),
    // A server's scheduler applies the audit log's and the runs' retention; one-off commands never do.
    ...(options.serverProcess === true || options.maintenance === true
      ? { maintenance: maintenanceTasks(config, store, workflows, options.logger, metrics) }
      : {}),
    scheduleObserver: metrics,
  });
  // Every run this process starts (a schedule's tick, a workflow step's child run) is judged by the active environment's policy and its plugins.
  engine.setRunPolicy(runStartGate(new ActivePolicy(store, policySourcesOf(project)), plugins));
  const budgets = project?.gateway ? resolveBudgets(project.gateway.budgets) : undefined;
  const detach = instrument(metrics, {
    engine,
    store,
    tools,
    // The budgets' use is shown where they are enforced: by the process running the gateway.
    budgets: gateway && budgets ? { budgets, spec: project?.gateway?.budgets, tenant: config.tenant } : undefined,
  });
  let closing: Promise<void> | undefined;
  return {
    config,
    project,
    store,
    engine,
    gateway,
    budgets,
    tools,
    plugins,
    redactor,
    metrics,
    close() {
      closing ??= (async () => {
        try {
          await engine.stop();
        } finally {
          detach();
          metrics.close();
          if (tools) toolSwitchWatch(store, tools).stop();
          await tools?.close();
          await plugins?.close(config.engine.shutdownGraceMs);
          try {
            await store.close();
          } finally {
            lock?.release();
          }
        }
      })();
      return closing;
    },
  };
}

/** How often a scheduler deletes the run quotas' start counters that left the hour's window. */
const QUOTA_COUNTERS_PRUNE_MS = 10 * 60_000;

/** What a server's scheduler does now and then: the audit log's retention, the runs' retention, the quota counters' pruning. */
function maintenanceTasks(config: Config, store: Store, workflows: ReadonlyMap<string, CompiledWorkflow>, logger: Logger, metrics: Metrics): MaintenanceTask[] {
  const audit = new AuditService(store);
  const tasks: MaintenanceTask[] = [
    // The run quotas' per-minute start counters (migration 24) that left the hour's window.
    { name: 'quota counters', everyMs: QUOTA_COUNTERS_PRUNE_MS, run: async () => ({ minutes: await store.pruneRunStartCounters(Date.now()) }) },
  ];
  if (config.audit.retentionMs !== undefined) tasks.push(auditRetentionTask(audit, config.audit.retentionMs, logger));
  // The built-in workflows declare no `retention:` (the deployment's windows apply to their runs): they stay uncompiled until used.
  const own = [...projectWorkflows(workflows)];
  if (retentionConfigured(config.retention, own)) {
    tasks.push(retentionTask(new RetentionService(store, audit), config.retention, own, logger, metrics));
  }
  return tasks;
}
