/**
 * `agentry dev`'s supervisor: starts a project's services (`services.ts`) as background processes,
 * each with its log in `.agentry/dev/logs/<name>.log` and its pid, port and start time in
 * `.agentry/dev/<name>.json`; tells which run and answer their readiness probe; stops them.
 *
 * A service's state file outlives the process that wrote it: a service is `stopped` when its pid
 * is gone or now belongs to a process started after it (pids are reused), whatever the file says.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AgentryError } from '../../lib/errors.js';
import { freePort, portFree } from '../../lib/ports.js';
import { processRunning, processStartedAt } from '../../lib/process-alive.js';
import { sleep } from '../../lib/sleep.js';
import type { DevService, DevServiceName } from './services.js';

export type DevHealth = 'healthy' | 'unhealthy' | 'stopped';

export interface DevServiceStatus {
  name: DevServiceName;
  description: string;
  health: DevHealth;
  pid: number | null;
  port: number | null;
  url: string | null;
  /** Why it is unhealthy (the probe's status or error). */
  reason?: string;
  startedAt: string | null;
  log: string;
}

interface DevState {
  pid: number;
  port: number;
  /** false: started with `--no-auth` (AGENTRY_AUTH=off). */
  auth: boolean;
  startedAt: number;
  args: string[];
}

/** How a service is started: the API's port (the others take a free one) and whether auth is on. */
export interface DevStartOptions {
  apiPort: number;
  auth: boolean;
}

export interface DevSupervisorOptions {
  projectDir: string;
  services: readonly DevService[];
  /** The environment of the services (the caller's, with the project's `.env` under it). */
  env: NodeJS.ProcessEnv;
  /** How to run `agentry`: the node binary and the arguments before the command. */
  command: { file: string; args: readonly string[] };
  /** How long a stopping service has before SIGKILL. */
  stopGraceMs: number;
}

/** How long a service has to answer its readiness probe with 200 after it was started. */
const READY_TIMEOUT_MS = 60_000;
const PROBE_TIMEOUT_MS = 2_000;

export class DevSupervisor {
  readonly stateDir: string;
  readonly logDir: string;

  constructor(private readonly options: DevSupervisorOptions) {
    this.stateDir = join(options.projectDir, '.agentry', 'dev');
    this.logDir = join(this.stateDir, 'logs');
  }

  logFile(name: string): string {
    return join(this.logDir, `${name}.log`);
  }

  /** Every service of the project, running or not. */
  async status(): Promise<DevServiceStatus[]> {
    return Promise.all(this.options.services.map((service) => this.statusOf(service)));
  }

  async statusOf(service: DevService): Promise<DevServiceStatus> {
    const state = this.#running(service.name);
    const base = { name: service.name, description: service.description, log: this.logFile(service.name) };
    if (state === undefined) return { ...base, health: 'stopped', pid: null, port: null, url: null, startedAt: null };
    const probe = await probeReady(service.readyUrl(state.port));
    return {
      ...base,
      health: probe.ok ? 'healthy' : 'unhealthy',
      ...(probe.ok ? {} : { reason: probe.reason }),
      pid: state.pid,
      port: state.port,
      url: service.url(state.port),
      startedAt: new Date(state.startedAt).toISOString(),
    };
  }

  /**
   * Migrates the store (once, when something is to start), then starts each of `services` that
   * is not running and waits for its readiness probe; `onProgress` hears each stage.
   */
  async start(services: readonly DevService[], options: DevStartOptions & { onProgress: (line: string) => void }): Promise<void> {
    const toStart = services.filter((s) => this.#running(s.name) === undefined);
    for (const s of services) if (!toStart.includes(s)) options.onProgress(`${s.name}: already running (pid ${this.#running(s.name)!.pid})`);
    if (toStart.length === 0) return;
    mkdirSync(this.logDir, { recursive: true });
    options.onProgress('store: applying migrations');
    await this.#migrate();
    for (const service of toStart) {
      const port = service.name === 'api' ? options.apiPort : await freePort();
      if (service.name === 'api' && !(await portFree(port))) {
        throw new AgentryError('port_in_use', `api: port ${port} is in use by another process; stop it or start with --port <port>`);
      }
      options.onProgress(`${service.name}: starting on ${service.url(port)}`);
      const started = Date.now();
      const state = this.#spawn(service, port, options.auth);
      await this.#waitReady(service, state);
      options.onProgress(`${service.name}: ready in ${((Date.now() - started) / 1000).toFixed(1)} s (pid ${state.pid})`);
    }
  }

  /** Stops each of `services` that runs (SIGTERM to its process group, SIGKILL after the grace period); returns their pids. */
  async stop(services: readonly DevService[], onProgress: (line: string) => void): Promise<void> {
    for (const service of [...services].reverse()) {
      const state = this.#running(service.name);
      if (state === undefined) {
        onProgress(`${service.name}: not running`);
        continue;
      }
      signalGroup(state.pid, 'SIGTERM');
      const deadline = Date.now() + this.options.stopGraceMs;
      while (processRunning(state.pid) && Date.now() < deadline) await sleep(100);
      const killed = processRunning(state.pid);
      if (killed) {
        signalGroup(state.pid, 'SIGKILL');
        const killDeadline = Date.now() + 10_000;
        while (processRunning(state.pid) && Date.now() < killDeadline) await sleep(50);
      }
      onProgress(`${service.name}: stopped (pid ${state.pid}${killed ? ', killed after the grace period' : ''})`);
      rmSync(this.#stateFile(service.name), { force: true });
    }
  }

  #stateFile(name: string): string {
    return join(this.stateDir, `${name}.json`);
  }

  /** What the state file of service `name` says, if there is one. */
  #recorded(name: string): DevState | undefined {
    try {
      return JSON.parse(readFileSync(this.#stateFile(name), 'utf8')) as DevState;
    } catch {
      return undefined;
    }
  }

  /** The state of service `name` when its process still runs. */
  #running(name: string): DevState | undefined {
    const state = this.#recorded(name);
    if (state === undefined || !Number.isInteger(state.pid) || !processRunning(state.pid)) return undefined;
    // The pid was reused when its process started after the service (Linux; elsewhere trusted).
    const startedAt = processStartedAt(state.pid);
    if (startedAt !== undefined && startedAt > state.startedAt + 1_000) return undefined;
    return state;
  }

  /** `agentry migrate up`, its output in `store.log`; a failure shows its last lines. */
  async #migrate(): Promise<void> {
    const log = this.logFile('store');
    const fd = openSync(log, 'w');
    try {
      const child = spawn(this.options.command.file, [...this.options.command.args, 'migrate', 'up', '--dir', this.options.projectDir], {
        cwd: this.options.projectDir,
        env: this.options.env,
        stdio: ['ignore', fd, fd],
      });
      const code = await new Promise<number | null>((resolve, reject) => {
        child.once('error', reject);
        child.once('exit', resolve);
      });
      if (code !== 0) throw new AgentryError('migration_failed', `store: agentry migrate up exited with ${code}:\n${tail(log, 20)}`);
    } finally {
      closeSync(fd);
    }
  }

  /** How service `name` was last started (running or not: it may have crashed), for a restart with the same options. */
  startedWith(name: DevServiceName): DevStartOptions | undefined {
    const state = this.#recorded(name);
    return state === undefined ? undefined : { apiPort: state.port, auth: state.auth };
  }

  #spawn(service: DevService, port: number, auth: boolean): DevState {
    const log = this.logFile(service.name);
    if (existsSync(log)) renameSync(log, `${log}.1`);
    const fd = openSync(log, 'a');
    const args = [...this.options.command.args, ...service.args(this.options.projectDir, port)];
    try {
      // Its own process group (detached): it outlives this command, and stop signals it whole.
      const env = auth ? this.options.env : { ...this.options.env, AGENTRY_AUTH: 'off' };
      const child = spawn(this.options.command.file, args, { cwd: this.options.projectDir, env, detached: true, stdio: ['ignore', fd, fd] });
      child.unref();
      if (child.pid === undefined) throw new AgentryError('not_ready', `${service.name}: could not start ${this.options.command.file}`);
      const state: DevState = { pid: child.pid, port, auth, startedAt: Date.now(), args };
      writeFileSync(this.#stateFile(service.name), `${JSON.stringify(state, null, 2)}\n`);
      return state;
    } finally {
      closeSync(fd);
    }
  }

  async #waitReady(service: DevService, state: DevState): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    let last = 'no answer yet';
    while (Date.now() < deadline) {
      if (!processRunning(state.pid)) {
        rmSync(this.#stateFile(service.name), { force: true });
        throw new AgentryError(
          'not_ready',
          `${service.name}: exited before it was ready; the end of ${this.logFile(service.name)}:\n${tail(this.logFile(service.name), 20)}`,
        );
      }
      const probe = await probeReady(service.readyUrl(state.port));
      if (probe.ok) return;
      last = probe.reason;
      await sleep(200);
    }
    await this.stop([service], () => undefined);
    throw new AgentryError(
      'not_ready',
      `${service.name}: not ready after ${READY_TIMEOUT_MS / 1000} s (${last}); stopped it. The end of ${this.logFile(service.name)}:\n${tail(this.logFile(service.name), 20)}`,
    );
  }
}

/** The last `n` lines of a log file (at most its last 64 KiB) but the access lines of its readiness probe, for an error message. */
function tail(file: string, n: number): string {
  try {
    const text = readFileSync(file, 'utf8').slice(-65_536);
    return text
      .trimEnd()
      .split('\n')
      .filter((line) => !line.includes('"path":"/readyz"'))
      .slice(-n)
      .join('\n');
  } catch {
    return '(no log)';
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }
}

async function probeReady(url: string): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    const body = await response.text();
    return response.status === 200 ? { ok: true } : { ok: false, reason: `${url} answered ${response.status}${failingChecks(body)}` };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { ok: false, reason: `${url}: ${cause ?? (error as Error).message}` };
  }
}

/** The checks a `/readyz` answer names as failing, with their details: `: failing workers (…)`. */
function failingChecks(body: string): string {
  try {
    const { checks } = JSON.parse(body) as { checks?: Record<string, { status?: string; detail?: string }> };
    const failing = Object.entries(checks ?? {}).filter(([, check]) => check.status !== 'ok');
    return failing.length === 0 ? '' : `: failing ${failing.map(([name, check]) => `${name}${check.detail ? ` (${check.detail})` : ''}`).join(', ')}`;
  } catch {
    return '';
  }
}
