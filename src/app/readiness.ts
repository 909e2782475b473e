/**
 * Readiness means what the process's roles need (`/readyz`, `/health`). Each role runs its
 * checks, a process with several roles (`agentry serve`) their union, all in parallel and
 * each limited to 2 s:
 *
 * | role | checks |
 * |---|---|
 * | `api` | database, migrations, workers (a live worker anywhere), maintenance³, gateway, tools, runtimes, specs¹ |
 * | `worker` | database, migrations, worker (this process's loop and heartbeat), maintenance³, gateway², tools, runtimes, specs¹ |
 * | `scheduler` | database, migrations, scheduler (this process's sweeps) |
 * | `gateway` | database, migrations, upstreams |
 *
 * ¹ when the specs came from a bundle. ² a remote gateway must answer `/livez` when a workflow
 * has agent steps (an API only forwards to it: it stays ready without it). `providers` and `tool_secrets` run on every role but
 * the scheduler when their lists (`AGENTRY_HEALTH_PROVIDERS`, `AGENTRY_HEALTH_TOOL_SECRETS`)
 * name variables. ³ says whether the fleet is in maintenance mode, which `Readiness.maintenance`
 * also tells; it fails only on a process with the `api` role while the fleet is quiesced
 * (`agentry maintenance on --quiesce`: the API refuses new runs, so a load balancer should stop
 * sending them), and never on a worker alone, which keeps finishing the accepted runs. A check resolves with a one-line detail, or fails saying what is wrong; the
 * details name hosts, workflows and variables, never a secret's value.
 */
import type { Gateway } from '../gateway/gateway.js';
import { toAgentryError } from '../lib/errors.js';
import { maskSecrets } from '../lib/redact.js';
import type { SpecBundleInfo } from './bundle-load.js';
import type { HealthService } from './health.js';
import { PROBE_CACHE_MS, ProbeCache, remoteGatewayCheck, upstreamsCheck } from './health-gateway.js';
import { secretFromEnv } from './secret-files.js';
import type { ToolService } from './tools.js';
import type { WorkflowService } from './workflows.js';

export const READINESS_ROLES = ['api', 'worker', 'scheduler', 'gateway'] as const;
/** What a process does, as readiness sees it: serves the API, runs a worker pool or a scheduler, or is a gateway process. */
export type ReadinessRole = (typeof READINESS_ROLES)[number];

export const CHECK_NAMES = [
  'database',
  'migrations',
  'workers',
  'worker',
  'maintenance',
  'scheduler',
  'gateway',
  'upstreams',
  'tools',
  'runtimes',
  'specs',
  'providers',
  'tool_secrets',
] as const;
export type CheckName = (typeof CHECK_NAMES)[number];

const CHECKS_OF: Record<ReadinessRole, readonly CheckName[]> = {
  api: ['database', 'migrations', 'workers', 'maintenance', 'gateway', 'tools', 'runtimes', 'specs', 'providers', 'tool_secrets'],
  worker: ['database', 'migrations', 'worker', 'maintenance', 'gateway', 'tools', 'runtimes', 'specs', 'providers', 'tool_secrets'],
  scheduler: ['database', 'migrations', 'scheduler'],
  gateway: ['database', 'migrations', 'upstreams', 'providers'],
};

/** Checked whatever the roles (a process that serves probes alone still needs its database). */
const ALWAYS: ReadonlySet<CheckName> = new Set(['database', 'migrations']);

export interface Check {
  status: 'ok' | 'fail';
  detail: string;
}

export interface Readiness {
  ready: boolean;
  checks: Partial<Record<CheckName, Check>>;
  /** The failing checks' names, in the order of `CHECK_NAMES`. */
  failing: CheckName[];
  /** Whether the fleet is in maintenance mode (no worker claims a step); undefined when this process's roles do not check it, or it could not be read. */
  maintenance: boolean | undefined;
}

/** The gateway behind this process: its own, a gateway process it calls, or none. */
export type GatewaySource = { kind: 'local'; gateway: Gateway } | { kind: 'remote'; url: string } | undefined;

export interface ReadinessOptions {
  gateway?: GatewaySource;
  /** The bundle the specs came from (`specs` shows its hash and signer); undefined: a project directory. */
  specBundle?: SpecBundleInfo | undefined;
  /** Variables that must be set for the LLM providers (`AGENTRY_HEALTH_PROVIDERS`). */
  providers?: readonly string[];
  /** Variables that must be set for the tool servers (`AGENTRY_HEALTH_TOOL_SECRETS`). */
  toolSecrets?: readonly string[];
  /** Where those variables are looked up (also as `NAME_FILE`), at each check. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** A worker heartbeat younger than this counts as live. Default 3 × the lease TTL. */
  workerTtlMs?: number;
  /** How long an upstream's or a remote gateway's probe outcome is reused (default 5 s). */
  cacheMs?: number;
}

const CHECK_TIMEOUT_MS = 2_000;

async function run(fn: () => Promise<string>): Promise<Check> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS}ms`)), CHECK_TIMEOUT_MS);
  });
  try {
    return { status: 'ok', detail: await Promise.race([fn(), timeout]) };
  } catch (error) {
    return { status: 'fail', detail: toAgentryError(error).message };
  } finally {
    clearTimeout(timer);
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Every listed variable is set (directly or as `NAME_FILE`); the failure names the unset ones, never a value. */
function variablesSet(names: readonly string[], env: NodeJS.ProcessEnv, setting: string): Promise<string> {
  const problems: string[] = [];
  for (const name of names) {
    const secret = secretFromEnv(env, name);
    if (secret.problem !== undefined) problems.push(secret.problem);
    else if (secret.value === undefined || secret.value.trim() === '') problems.push(`${name} is not set`);
  }
  if (problems.length > 0) throw new Error(`${problems.join('; ')} (listed in ${setting})`);
  return Promise.resolve(`${plural(names.length, 'variable')} set: ${names.join(', ')}`);
}

export class ReadinessService {
  private readonly cache: ProbeCache;

  constructor(
    private readonly deps: { health: HealthService; tools: ToolService; workflows: WorkflowService },
    private readonly options: ReadinessOptions = {},
  ) {
    this.cache = new ProbeCache(options.cacheMs ?? PROBE_CACHE_MS);
  }

  /** Runs the checks of `roles` side by side; ready when none fails. */
  async check(roles: ReadonlySet<ReadinessRole>): Promise<Readiness> {
    const names = CHECK_NAMES.filter((name) => ALWAYS.has(name) || [...roles].some((role) => CHECKS_OF[role].includes(name)));
    let maintenance: boolean | undefined;
    const runs = names.flatMap((name) => {
      const fn =
        name === 'maintenance'
          ? async () => {
              const { on, quiesce, detail } = await this.deps.health.maintenance();
              maintenance = on;
              if (quiesce && roles.has('api')) throw new Error(`${detail}: this API process is not ready until agentry maintenance off`);
              return detail;
            }
          : this.checkOf(name, roles);
      return fn === undefined ? [] : [run(fn).then((c) => [name, c] as const)];
    });
    const checks: Partial<Record<CheckName, Check>> = Object.fromEntries(await Promise.all(runs));
    const failing = CHECK_NAMES.filter((name) => checks[name]?.status === 'fail');
    return { ready: failing.length === 0, checks, failing, maintenance };
  }

  /** The check named `name`, or undefined when it does not apply to this process (no bundle, no list). */
  private checkOf(name: CheckName, roles: ReadonlySet<ReadinessRole>): (() => Promise<string>) | undefined {
    const { health } = this.deps;
    const o = this.options;
    switch (name) {
      case 'database':
        return () => health.database();
      case 'migrations':
        return () => health.migrations();
      case 'workers':
        return () => health.workers(this.workerTtlMs);
      case 'worker':
        return () => health.worker(this.workerTtlMs);
      case 'maintenance':
        return undefined; // run by `check`, which also keeps whether it is on
      case 'scheduler':
        return () => health.scheduler();
      case 'runtimes':
        return () => health.runtimes();
      case 'gateway':
        return () => this.gateway(roles.has('worker'));
      case 'upstreams':
        return () => this.upstreams();
      case 'tools':
        return () => this.tools();
      case 'specs':
        return o.specBundle === undefined ? undefined : () => Promise.resolve(specsDetail(o.specBundle!));
      case 'providers':
        return o.providers?.length ? () => variablesSet(o.providers!, o.env ?? process.env, 'AGENTRY_HEALTH_PROVIDERS') : undefined;
      case 'tool_secrets':
        return o.toolSecrets?.length ? () => variablesSet(o.toolSecrets!, o.env ?? process.env, 'AGENTRY_HEALTH_TOOL_SECRETS') : undefined;
    }
  }

  private get workerTtlMs(): number {
    return this.options.workerTtlMs ?? this.deps.health.leaseTtlMs * 3;
  }

  /**
   * Ok with a gateway, or without one when no workflow has agent steps. A worker (`live`) also
   * needs a remote gateway to answer while agent steps may run; an API only forwards to it, and
   * stays ready for everything else when it is down.
   */
  private gateway(live: boolean): Promise<string> {
    const gw = this.options.gateway;
    const users = this.deps.workflows.withAgentSteps();
    if (gw?.kind === 'local') return Promise.resolve(`in-process: ${plural(gw.gateway.models().length, 'model group')}`);
    if (gw?.kind === 'remote') return live ? remoteGatewayCheck(gw.url, users, this.cache) : Promise.resolve(`remote: ${maskSecrets(gw.url)}`);
    if (users.length > 0) throw new Error(`workflows with agent steps (${users.join(', ')}) but no gateway.yaml and no AGENTRY_GATEWAY_URL`);
    return Promise.resolve('not configured (no workflow has agent steps)');
  }

  /** A gateway process's providers (see `upstreamsCheck`). */
  private upstreams(): Promise<string> {
    const gw = this.options.gateway;
    if (gw?.kind !== 'local') throw new Error('this gateway process has no gateway.yaml loaded');
    return upstreamsCheck(gw.gateway.upstreams(), this.cache);
  }

  /** Ok unless every tool server has failed; the detail counts servers by state. */
  private tools(): Promise<string> {
    const servers = this.deps.tools.list();
    if (servers.length === 0) return Promise.resolve('no tool servers');
    const counts = new Map<string, number>();
    for (const s of servers) counts.set(s.state, (counts.get(s.state) ?? 0) + 1);
    const detail = `${plural(servers.length, 'server')}: ${[...counts].map(([state, n]) => `${n} ${state}`).join(', ')}`;
    if (counts.get('failed') === servers.length) throw new Error(`every tool server failed (${detail})`);
    return Promise.resolve(detail);
  }
}

/** The bundle the specs came from: its hash, when verified its signer, and who approved it for which environment. */
function specsDetail(bundle: SpecBundleInfo): string {
  const signer = bundle.signer ? `signed by '${bundle.signer.name}' (key ${bundle.signer.keyId})` : 'signature not verified';
  const approval = [
    ...(bundle.approvedBy === undefined ? [] : [`approved by '${bundle.approvedBy}'`]),
    ...(bundle.env === undefined ? [] : [`for env '${bundle.env}'`]),
  ].join(' ');
  return `bundle ${bundle.hash}, ${signer}${approval === '' ? '' : `, ${approval}`}`;
}
