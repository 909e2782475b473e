/**
 * `agentry status`: the deployment at a glance — the server (version, roles, readiness checks),
 * the worker processes and the queue — and a `services` list with each one's health
 * (`healthy`, `unhealthy`, `stopped`). With `AGENTRY_URL` (or a profile) it asks that server's
 * `GET /v1/admin/status`; a server that does not answer is `stopped`. Without, it reads the
 * project's store (its workers, queue, database and migrations) and asks the address `serve`
 * would listen on (`AGENTRY_HOST`/`AGENTRY_PORT`) for `/readyz`. Exit 0 when every service is
 * healthy, 1 when one is unhealthy (a failing check, a worker without a heartbeat), 3 when the
 * server is stopped. See docs/cli.md.
 */
import type { Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { Config } from '../../app/config.js';
import type { WorkerDto } from '../../app/dto/fleet.js';
import type { StatusDto } from '../../app/dto/status.js';
import { AgentryError, toAgentryError } from '../../lib/errors.js';
import { maskSecrets } from '../../lib/redact.js';
import { configFrom, DIR_OPTION, loggerFor, noteRemoteDir, out, outJson, outStyle, type CliContext } from '../context.js';
import { formatIso, paint, plural, table } from '../format.js';
import { isUnreachable, RemoteClient } from '../remote.js';

export const HEALTH_STATES = ['healthy', 'unhealthy', 'stopped'] as const;
export type Health = (typeof HEALTH_STATES)[number];

/** One service of the deployment, as `--json` lists it. */
export interface ServiceStatus {
  /** `api` (the server answering, or that `serve` would be locally), `worker` (a worker process). */
  name: string;
  /** The worker id (`wrk_…`); null for the server. */
  id: string | null;
  url: string | null;
  port: number | null;
  health: Health;
  roles: string[];
  /** One line: why it has this health. */
  detail: string;
}

/** What `agentry status --json` prints. */
export interface StatusReport {
  /** `remote`: asked a server (AGENTRY_URL); `local`: read the project's store. */
  source: 'remote' | 'local';
  healthy: boolean;
  services: ServiceStatus[];
  /** What `GET /v1/admin/status` answers (locally: the same read from the store); null when the server is stopped. */
  status: StatusDto | null;
  /** Why the server could not be asked; null when it answered. */
  error: string | null;
}

/** Exit code: 0 every service healthy, 1 one is unhealthy, 3 the server (or, locally, the address serve listens on) does not answer. */
export function statusExitCode(report: StatusReport): number {
  const api = report.services.find((s) => s.name === 'api');
  if (api?.health === 'stopped') return 3;
  return report.healthy ? 0 : 1;
}

function portOf(url: string): number | null {
  try {
    const u = new URL(url);
    return u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  } catch {
    return null;
  }
}

function workerService(w: WorkerDto): ServiceStatus {
  const health: Health = w.state === 'stale' ? 'stopped' : 'healthy';
  const detail = `${w.host} pid ${w.pid}, ${w.state}, ${plural(w.current_steps, 'running step')}, heartbeat ${w.heartbeat_age_s}s ago`;
  return { name: 'worker', id: w.id, url: null, port: null, health, roles: [...w.roles], detail };
}

function apiService(url: string, health: Health, roles: string[], detail: string): ServiceStatus {
  return { name: 'api', id: null, url: maskSecrets(url), port: portOf(url), health, roles, detail };
}

function failing(status: StatusDto): string {
  const failed = status.checks.filter((c) => c.status === 'fail');
  return failed.length === 0 ? 'ready' : `not ready: ${failed.map((c) => `${c.name} (${c.detail})`).join('; ')}`;
}

function report(source: StatusReport['source'], api: ServiceStatus, status: StatusDto | null, error: string | null): StatusReport {
  const services = [api, ...(status?.workers ?? []).map(workerService)];
  const checksPass = status === null || status.checks.every((c) => c.status === 'ok');
  return { source, healthy: checksPass && services.every((s) => s.health === 'healthy'), services, status, error };
}

async function remoteReport(url: string, apiKey: string | undefined): Promise<StatusReport> {
  const remote = new RemoteClient({ url, ...(apiKey === undefined ? {} : { apiKey }) });
  try {
    const status = await remote.request<StatusDto>('GET', '/v1/admin/status');
    return report('remote', apiService(remote.url, status.ready ? 'healthy' : 'unhealthy', status.process.roles, failing(status)), status, null);
  } catch (error) {
    if (!isUnreachable(error)) throw error;
    const message = toAgentryError(error).message;
    return report('remote', apiService(remote.url, 'stopped', [], message), null, message);
  }
}

/** What answers `/readyz` at the address `serve` listens on: healthy (200), unhealthy (another status) or stopped (no answer). */
async function probeLocalServer(config: Config): Promise<{ url: string; health: Health; detail: string }> {
  const host = config.server.host === '0.0.0.0' || config.server.host === '::' ? '127.0.0.1' : config.server.host;
  const url = `${config.server.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${config.server.port}`;
  const remote = new RemoteClient({ url, signal: AbortSignal.timeout(3_000) });
  try {
    const answer = await remote.fetchText('/readyz');
    if (answer.status === 200) return { url, health: 'healthy', detail: 'ready (/readyz answered 200)' };
    return { url, health: 'unhealthy', detail: `/readyz answered ${answer.status}` };
  } catch (error) {
    return { url, health: 'stopped', detail: `no server answers: ${toAgentryError(error).message}` };
  }
}

async function localReport(ctx: CliContext, config: Config): Promise<StatusReport> {
  const { openLocalServices, missingStoreLocation } = await import('../../app/local.js');
  const local = await openLocalServices(config, { logger: loggerFor(config), env: ctx.env });
  if (local === undefined) throw new AgentryError('not_found', `there is no store at ${missingStoreLocation(config)} (and no AGENTRY_URL to ask a server)`);
  let status: StatusDto;
  try {
    const startedAt = Date.now() - process.uptime() * 1000;
    status = await local.services.status.status(localOperator(ctx.env), { roles: [], tenancy: config.tenancy, startedAt }, new Set());
  } finally {
    await local.close();
  }
  const server = await probeLocalServer(config);
  // The store's own checks (database, migrations) count as well: a server on a store it cannot use is not healthy.
  return report('local', apiService(server.url, server.health, [], server.detail), status, null);
}

function printReport(ctx: CliContext, r: StatusReport): void {
  const style = outStyle(ctx);
  const color = (h: Health): string => paint(style, h === 'healthy' ? 'green' : h === 'unhealthy' ? 'yellow' : 'red', h);
  const s = r.status;
  if (s) {
    const p = s.process;
    out(ctx, `Agentry ${p.version} (${r.source === 'remote' ? `server at ${r.services[0]?.url ?? ''}` : 'this CLI on the project store'})`);
    out(ctx, `Store: ${p.store.kind} ${p.store.location}, schema ${p.store.schema_version} of ${p.store.latest}`);
    if (r.source === 'remote') out(ctx, `Roles: ${p.roles.join(', ') || 'none'}; up since ${formatIso(p.started_at)}`);
  }
  out(ctx);
  out(
    ctx,
    table(
      style,
      ['SERVICE', 'HEALTH', 'URL', 'DETAIL'],
      r.services.map((svc) => [svc.id === null ? svc.name : `${svc.name} ${svc.id}`, color(svc.health), svc.url ?? '-', svc.detail]),
    ),
  );
  if (s) {
    out(ctx);
    out(ctx, `Checks: ${s.checks.map((c) => `${c.name} ${c.status === 'ok' ? paint(style, 'green', 'ok') : paint(style, 'red', 'fail')}`).join(', ')}`);
    for (const c of s.checks.filter((check) => check.status === 'fail')) out(ctx, `  ${c.name}: ${c.detail}`);
    if (s.maintenance === true) out(ctx, paint(style, 'yellow', 'Maintenance mode is on: no worker claims a step (agentry maintenance status)'));
    const counts = (byStatus: Record<string, number>): string =>
      Object.entries(byStatus)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ') || 'none';
    out(
      ctx,
      `Queue: ${plural(s.queue.due_steps, 'step')} due and unclaimed${s.queue.oldest_due_at === null ? '' : ` (oldest due ${formatIso(s.queue.oldest_due_at)})`}`,
    );
    out(ctx, `Runs: ${counts(s.queue.runs)}`);
    out(ctx, `Steps: ${counts(s.queue.steps)}`);
  }
  if (r.error !== null) out(ctx, paint(style, 'red', `The server is stopped or unreachable: ${r.error}`));
}

export function registerStatus(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('The deployment at a glance: server version, roles and readiness checks, workers, queue depth; exit 1 when unhealthy, 3 when stopped')
    .option('--json', 'print { source, healthy, services: [{ name, id, url, port, health, roles, detail }], status, error }')
    .option(...DIR_OPTION)
    .addHelpText(
      'after',
      `
With AGENTRY_URL (or a profile; AGENTRY_API_KEY with workers:read: admin, operator) it asks that server
(GET /v1/admin/status); a server that does not answer is "stopped". Without, it reads the project's store
and asks the address serve listens on (AGENTRY_HOST/AGENTRY_PORT) for /readyz.
Exit codes: 0 every service healthy, 1 one is unhealthy, 3 the server is stopped. See docs/cli.md.`,
    )
    .action(async (opts: { json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      noteRemoteDir(ctx, config, opts.dir);
      const r = config.client.url !== undefined ? await remoteReport(config.client.url, config.client.apiKey) : await localReport(ctx, config);
      if (opts.json === true) outJson(ctx, r);
      else printReport(ctx, r);
      ctx.exitCode = statusExitCode(r);
    });
}
