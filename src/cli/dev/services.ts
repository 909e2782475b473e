/**
 * The services `agentry dev` runs for a project, by store: on SQLite one `agentry serve` (the
 * API, the worker pool and the scheduler share the one writer the file allows); on PostgreSQL the
 * API and a worker (with the scheduler) as separate processes, as a deployment runs them — the
 * worker first: the API is ready only once a worker is. Every service needs the store migrated
 * first (`store`, a step that runs once and exits).
 */
import type { Config } from '../../app/config.js';
import { AgentryError } from '../../lib/errors.js';

export type DevServiceName = 'api' | 'worker';

export interface DevService {
  readonly name: DevServiceName;
  /** The services it needs ready before it starts (the API's readiness counts the workers on PostgreSQL). */
  readonly needs: readonly DevServiceName[];
  /** What it is, for `agentry dev status`. */
  readonly description: string;
  /** The `agentry` arguments that run it, given its port. */
  args(dir: string, port: number): string[];
  /** The URL of its readiness probe (`/readyz`), given its port. */
  readyUrl(port: number): string;
  /** The URL people use: the API's, or the probe port's. */
  url(port: number): string;
}

/** Where a service listens: `localhost` when the configured host listens on every interface. */
function local(host: string): string {
  return host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
}

export function devServices(config: Config): readonly DevService[] {
  const host = local(config.server.host);
  const api: DevService = {
    name: 'api',
    needs: config.database.kind === 'sqlite' ? [] : ['worker'],
    description:
      config.database.kind === 'sqlite' ? 'HTTP API, console, worker pool and scheduler (agentry serve)' : 'HTTP API and console (agentry start api)',
    args: (dir, port) => (config.database.kind === 'sqlite' ? ['serve', dir, '--port', String(port)] : ['start', 'api', '--dir', dir, '--port', String(port)]),
    readyUrl: (port) => `http://${host}:${port}/readyz`,
    url: (port) => `http://${host}:${port}`,
  };
  if (config.database.kind === 'sqlite') return [api];
  const worker: DevService = {
    name: 'worker',
    needs: [],
    description: 'worker pool and scheduler (agentry start worker)',
    args: (dir, port) => ['start', 'worker', '--dir', dir, '--probe-port', String(port)],
    readyUrl: (port) => `http://127.0.0.1:${port}/readyz`,
    url: (port) => `http://127.0.0.1:${port}`,
  };
  return [worker, api];
}

/**
 * The services `names` name (all when none), in start order (`all` lists each after what it
 * needs); with `withNeeds`, what they need too. An unknown name is an error naming the ones there are.
 */
export function pickServices(all: readonly DevService[], names: readonly string[], options: { withNeeds?: boolean } = {}): DevService[] {
  if (names.length === 0) return [...all];
  const unknown = names.filter((name) => !all.some((s) => s.name === name));
  if (unknown.length > 0) {
    throw new AgentryError(
      'invalid_request',
      `unknown service ${unknown.map((n) => `'${n}'`).join(', ')}: this project's services are ${all.map((s) => s.name).join(', ')}`,
    );
  }
  const picked = new Set(names);
  if (options.withNeeds) {
    for (const service of [...all].reverse()) if (picked.has(service.name)) for (const need of service.needs) picked.add(need);
  }
  return all.filter((s) => picked.has(s.name));
}
