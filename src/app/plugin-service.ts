/**
 * The plugins a process runs: read from `agentry-plugins.lock` when it opens (so every replica
 * built from the same lock runs the same set and versions), each in its own runtime
 * (`plugin-host.ts`) behind a guard holding the permissions the lock accepted. The fleet's
 * plugin switches are read from the store when it opens and every `PLUGIN_SWITCH_POLL_MS`
 * after: a plugin disabled on any process is refused by every process within one poll (the
 * promise is 5 s) and after restarts; calls already in flight finish. Every network and
 * filesystem call of a plugin is written to the audit log (`plugin.fetch`, `plugin.fs.read`,
 * `plugin.fs.write`, with plugin, host or path, run and tenant), and `ctx.kv` is the store's
 * `plugin_kv`, keyed by the caller's tenant.
 */
import type { Logger } from 'pino';
import { AgentryError, toAgentryError } from '../lib/errors.js';
import type { CompiledWorkflow } from '../spec/model.js';
import { loadManifest, type PluginManifest } from '../spec/plugin-manifest.js';
import type { PluginSwitchRecord } from '../store/store-types.js';
import type { Store } from '../store/store.js';
import { OutageLog } from '../store/transient.js';
import type { AuditService } from './audit.js';
import type { Caller } from './caller.js';
import { assertDeploymentCaller } from './fleet.js';
import { PluginGuard, type CallScope, type PluginAccess } from './plugin-guard.js';
import { PluginHost, type PluginCallKind, type PluginKv } from './plugin-host.js';
import { readLock, type LockEntry } from './plugin-lock.js';
import type { PluginCatalog } from '../spec/plugin-catalog.js';
import { catalogEntry } from './plugin-catalog.js';
import { pluginUses, type AgentToolLists } from './plugin-use.js';
import { entryDir, modeOf } from './plugins.js';

export const PLUGIN_SWITCH_POLL_MS = 2_000;

export interface PluginServiceOptions {
  projectDir: string;
  env: NodeJS.ProcessEnv;
  production: boolean;
  store: Store;
  logger: Logger;
  audit?: AuditService | undefined;
  /** The deployment's tenant (`AGENTRY_TENANT`): only its callers (and system admins) see and switch plugins, which are the deployment's. */
  deploymentTenant?: string;
  timeoutMs?: number;
  now?: () => number;
  /** The project's agents: a run start checks the plugin tools their `tools:` lists name (`assertRunnable`). */
  agents?: AgentToolLists | undefined;
}

/** A plugin as `GET /v1/plugins` and `agentry plugins list` show it. */
export interface PluginStatus {
  name: string;
  package: string;
  version: string;
  source: 'registry' | 'link';
  mode: 'in-process' | 'process';
  state: 'enabled' | 'disabled' | 'unavailable';
  disabled_reason?: string;
  /** Why it cannot load (unavailable). */
  error?: string;
  steps: string[];
  tools: string[];
  routes: string[];
  /** What the operator accepted for it in the lock (network hosts, paths, env, child process). */
  permissions: PluginManifest['permissions'];
}

interface Loaded {
  entry: LockEntry;
  manifest: PluginManifest | undefined;
  host: PluginHost | undefined;
  error: string | undefined;
}

function storeKv(store: Store, now: () => number): PluginKv {
  return {
    async get(plugin, tenant, key) {
      const text = await store.getPluginValue(plugin, tenant, key);
      return text === undefined ? undefined : (JSON.parse(text) as unknown);
    },
    set: (plugin, tenant, key, value) => store.setPluginValue(plugin, tenant, key, JSON.stringify(value ?? null), now()),
    delete: (plugin, tenant, key) => store.deletePluginValue(plugin, tenant, key),
  };
}

export class PluginService {
  private readonly plugins = new Map<string, Loaded>();
  private switches = new Map<string, PluginSwitchRecord>();
  private timer: NodeJS.Timeout | undefined;
  private reads = 0;
  private applied = 0;
  private readonly now: () => number;

  private constructor(private readonly options: PluginServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Loads the lock's plugins (a missing or invalid one is listed `unavailable`, not fatal) and reads the switches. */
  static async open(options: PluginServiceOptions): Promise<PluginService> {
    const service = new PluginService(options);
    const lock = readLock(options.projectDir);
    for (const [name, entry] of Object.entries(lock.plugins)) service.load(name, entry);
    await service.sync();
    return service;
  }

  private load(name: string, entry: LockEntry): void {
    const { projectDir, env, production, logger, store } = this.options;
    try {
      const loaded = loadManifest(entryDir(projectDir, entry));
      const manifest = loaded.manifest;
      if (manifest.name !== name) throw new AgentryError('plugin_invalid', `${loaded.file}: names the plugin ${manifest.name}, the lock ${name}`);
      if (entry.source === 'registry' && manifest.version !== entry.version) {
        throw new AgentryError('plugin_invalid', `${loaded.file}: is version ${manifest.version}, the lock says ${entry.version}`);
      }
      if (JSON.stringify(manifest.permissions) !== JSON.stringify(entry.permissions)) {
        throw new AgentryError(
          'plugin_invalid',
          `${loaded.file}: declares other permissions than the lock accepted; run \`agentry plugins link\` or \`update\` to accept them`,
        );
      }
      modeOf(manifest, production);
      const guard = new PluginGuard(name, entry.permissions, projectDir, env, (access) => this.recordAccess(access));
      const host = new PluginHost({
        name,
        mode: entry.mode,
        dir: loaded.dir,
        entry: loaded.entry,
        childProcess: entry.permissions.childProcess === true,
        guard,
        logger,
        kv: storeKv(store, this.now),
        ...(this.options.timeoutMs === undefined ? {} : { timeoutMs: this.options.timeoutMs }),
      });
      this.plugins.set(name, { entry, manifest, host, error: undefined });
    } catch (error) {
      if (production && error instanceof AgentryError && error.code === 'unsafe_configuration') throw error;
      const message = error instanceof Error ? error.message : String(error);
      logger.error({ plugin: name, err: error }, `plugin ${name} cannot load: ${message}`);
      this.plugins.set(name, { entry, manifest: undefined, host: undefined, error: message });
    }
  }

  private recordAccess(access: PluginAccess): void {
    const { audit, logger } = this.options;
    const line = {
      plugin: access.plugin,
      op: access.op,
      target: access.target,
      allowed: access.allowed,
      run_id: access.run,
      tenant: access.tenant,
      via: access.via,
    };
    if (access.allowed) logger.debug(line, 'plugin access');
    else logger.warn(line, `plugin ${access.plugin}: ${access.op} of ${access.target} refused`);
    if (audit === undefined) return;
    const caller: Caller = {
      name: `plugin:${access.plugin}`,
      roles: [],
      runAccess: { read: 'own', write: 'own' },
      ...(access.tenant === undefined ? {} : { tenantId: access.tenant }),
    };
    audit
      .record(caller, `plugin.${access.op}`, access.target, access.allowed ? 'success' : 'denied', {
        plugin: access.plugin,
        run_id: access.run ?? null,
        ...(access.via === undefined ? {} : { via: access.via }),
      })
      .catch((error: unknown) => logger.error({ plugin: access.plugin, err: error }, 'recording a plugin access in the audit log failed'));
  }

  /** Reads the switches and applies them (an older read finishing later is not applied over a newer one). */
  async sync(): Promise<void> {
    const read = ++this.reads;
    const switches = await this.options.store.listPluginSwitches();
    if (read < this.applied) return;
    this.applied = read;
    this.switches = new Map(switches.map((s) => [s.plugin, s]));
  }

  /** Keeps reading the switches until `close()`. */
  watch(intervalMs: number = PLUGIN_SWITCH_POLL_MS): void {
    const outage = new OutageLog(this.options.logger, 'reading the plugin switches');
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      this.sync().then(
        () => outage.ok(),
        (error: unknown) => outage.failed(error),
      );
    }, intervalMs);
    this.timer.unref();
  }

  list(): PluginStatus[] {
    return [...this.plugins.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, p]) => {
        const off = this.switches.get(name);
        const status: PluginStatus = {
          name,
          package: p.entry.package,
          version: p.entry.version,
          source: p.entry.source,
          mode: p.entry.mode,
          state: p.host === undefined ? 'unavailable' : off === undefined ? 'enabled' : 'disabled',
          steps: p.manifest?.adds.steps?.map((s) => s.kind) ?? [],
          tools: p.manifest?.adds.tools?.map((t) => t.name) ?? [],
          routes: p.manifest?.adds.routes?.map((r) => `${r.method} /v1/plugins/${name}${r.path}`) ?? [],
          permissions: p.entry.permissions,
        };
        if (off !== undefined) status.disabled_reason = off.reason;
        if (p.error !== undefined) status.error = p.error;
        return status;
      });
  }

  /** `list()` for a caller: plugins are the deployment's, so callers of another tenant are refused. */
  listFor(caller: Caller): PluginStatus[] {
    this.assertOperator(caller);
    return this.list();
  }

  private assertOperator(caller: Caller): void {
    if (this.options.deploymentTenant !== undefined) assertDeploymentCaller(caller, this.options.deploymentTenant, 'plugins');
  }

  private plugin(name: string): Loaded {
    const p = this.plugins.get(name);
    if (p === undefined) throw new AgentryError('not_found', `no plugin named ${name}`);
    return p;
  }

  /** Disables a plugin on every process (stored): new calls refused, calls in flight finish. */
  async disable(caller: Caller, name: string, reason: string): Promise<PluginStatus> {
    this.assertOperator(caller);
    this.plugin(name);
    const record = await this.options.store.disablePlugin({ plugin: name, reason, disabledAt: this.now(), disabledBy: caller.name });
    this.switches.set(name, record);
    await this.options.audit?.record(caller, 'plugin.disable', name, 'success', { reason });
    this.options.logger.warn({ plugin: name, reason, principal: caller.name }, `plugin ${name} disabled`);
    return this.list().find((p) => p.name === name)!;
  }

  async enable(caller: Caller, name: string): Promise<PluginStatus> {
    this.assertOperator(caller);
    this.plugin(name);
    await this.options.store.enablePlugin(name);
    this.switches.delete(name);
    await this.options.audit?.record(caller, 'plugin.enable', name, 'success');
    this.options.logger.info({ plugin: name, principal: caller.name }, `plugin ${name} enabled`);
    return this.list().find((p) => p.name === name)!;
  }

  /** Whether `name` is one of the lock's plugins (loaded or not). */
  has(name: string): boolean {
    return this.plugins.has(name);
  }

  /** The manifest of a plugin that loaded (undefined: unknown, or it cannot load). */
  manifest(name: string): PluginManifest | undefined {
    return this.plugins.get(name)?.manifest;
  }

  /** The loaded plugins' step kinds and tools, as the spec loader checks specs against them (one that cannot load, with its error). */
  catalog(): PluginCatalog {
    return new Map(
      [...this.plugins].map(([name, p]) => [
        name,
        p.manifest === undefined ? { error: p.error, steps: new Map(), tools: new Map() } : catalogEntry(p.manifest),
      ]),
    );
  }

  /** Whether a plugin may take new calls now (`plugin_disabled`, `not_found` or `plugin_failed` otherwise). */
  private usable(name: string): PluginHost {
    const p = this.plugin(name);
    const off = this.switches.get(name);
    if (off !== undefined) {
      throw new AgentryError('plugin_disabled', `plugin ${name} is disabled: ${off.reason}`, { details: { plugin: name, reason: off.reason } });
    }
    if (p.host === undefined) throw new AgentryError('plugin_failed', `plugin ${name} cannot load: ${p.error ?? 'unknown'}`, { details: { plugin: name } });
    return p.host;
  }

  /** Refuses a run that uses a plugin that is disabled, unknown or does not add `kind`/`name`. */
  assertUsable(name: string, kind: 'step' | 'tool', fn: string): void {
    this.usable(name);
    const manifest = this.plugin(name).manifest!;
    const declared = kind === 'step' ? manifest.adds.steps?.some((s) => s.kind === fn) : manifest.adds.tools?.some((t) => t.name === fn);
    if (declared !== true) throw new AgentryError('not_found', `plugin ${name} adds no ${kind} ${fn}`);
  }

  /**
   * Refuses a run of `wf` when a plugin it uses (a `plugin:` step, a plugin tool of one of its
   * agents) cannot take new calls: `plugin_disabled` naming the plugin and the step,
   * `plugin_failed` when it cannot load, `spec_invalid` when there is no such plugin, step kind or tool.
   */
  assertRunnable(wf: CompiledWorkflow): void {
    for (const use of pluginUses(wf, this.options.agents, (name) => this.plugins.has(name))) {
      const where = `workflow ${wf.name}: step ${use.step} uses plugin ${use.plugin}`;
      try {
        if (use.fn === '*') this.usable(use.plugin);
        else this.assertUsable(use.plugin, use.kind, use.fn);
      } catch (error) {
        const e = toAgentryError(error);
        const code = e.code === 'not_found' ? 'spec_invalid' : e.code;
        throw new AgentryError(
          code,
          `${where}, ${e.code === 'plugin_disabled' ? `which is disabled: ${String((e.details as { reason?: unknown })?.reason)}` : `but ${e.message}`}`,
          {
            cause: e,
            details: { plugin: use.plugin, step: use.step, workflow: wf.name, ...(e.details as object | undefined) },
          },
        );
      }
    }
  }

  /** Calls a step kind or tool of a plugin for a run. */
  call(name: string, kind: Exclude<PluginCallKind, 'route'>, fn: string, args: unknown, scope: CallScope, signal?: AbortSignal): Promise<unknown> {
    this.assertUsable(name, kind, fn);
    return this.usable(name).call(kind, fn, args, scope, signal);
  }

  /** Serves a request of one of a plugin's routes (`not_found` when the plugin is disabled or declares no such route). */
  async route(
    caller: Caller,
    name: string,
    request: { method: string; path: string; query: Record<string, unknown>; body: unknown; headers: Record<string, string> },
  ): Promise<{ status: number; body: unknown; headers?: Record<string, string> }> {
    const p = this.plugins.get(name);
    const declared = p?.manifest?.adds.routes?.some((r) => r.method === request.method && r.path === request.path);
    if (p === undefined || declared !== true || this.switches.has(name)) {
      throw new AgentryError('not_found', `no route ${request.method} /v1/plugins/${name}${request.path}`);
    }
    const answer = (await this.usable(name).call('route', `${request.method} ${request.path}`, request, { tenantId: caller.tenantId, runId: undefined })) as {
      status?: unknown;
      body?: unknown;
      headers?: unknown;
    } | null;
    const status = typeof answer?.status === 'number' && answer.status >= 200 && answer.status <= 599 ? answer.status : 200;
    return {
      status,
      body: answer?.body ?? null,
      ...(typeof answer?.headers === 'object' && answer.headers !== null ? { headers: answer.headers as Record<string, string> } : {}),
    };
  }

  /** Stops the poll and every runtime, letting calls in flight finish for up to `graceMs`. */
  async close(graceMs = 0): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([...this.plugins.values()].map((p) => p.host?.stop(graceMs) ?? Promise.resolve()));
  }
}
