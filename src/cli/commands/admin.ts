/**
 * `agentry admin info` and `agentry admin sweep --now`: which build, database (no password) and
 * schema a deployment runs on, and one pass of the scheduler's sweeps forced now (lapsed leases,
 * runs and human tasks past their deadline, due schedules, retention) — on the project's store,
 * or (with `AGENTRY_URL`) through the server's `GET /v1/admin/info` and `POST /v1/admin/sweep`.
 * `--json` prints what the API returns. See docs/operations/maintenance.md.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { Config } from '../../app/config.js';
import type { AdminInfoDto, SweepDto } from '../../app/dto/admin.js';
import type { LocalServices } from '../../app/local.js';
import { AgentryError } from '../../lib/errors.js';
import { RemoteClient } from '../remote.js';
import { configFrom, DIR_OPTION, loggerFor, noteRemoteDir, out, outJson, type CliContext } from '../context.js';
import { formatIso, plural } from '../format.js';

function remoteOf(config: Config): RemoteClient | undefined {
  if (config.client.url === undefined) return undefined;
  return new RemoteClient({ url: config.client.url, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
}

/**
 * Runs `fn` on the services of the project's store (with the project's workflows when it has an
 * `agentry.yaml`: their schedules and retention), closing it after; a store not created yet is an error.
 */
async function withLocal<T>(ctx: CliContext, config: Config, options: { project: boolean }, fn: (local: LocalServices) => Promise<T>): Promise<T> {
  const { openLocalServices, missingStoreLocation } = await import('../../app/local.js');
  const { loadProjectOrThrow } = await import('../../app/bootstrap.js');
  const hasProject = options.project && existsSync(join(config.projectDir, 'agentry.yaml'));
  const project = hasProject ? await loadProjectOrThrow(config, ctx.env) : undefined;
  const local = await openLocalServices(config, {
    logger: loggerFor(config),
    env: ctx.env,
    ...(project ? { project } : {}),
    maintenance: true,
  });
  if (local === undefined) throw new AgentryError('not_found', `there is no store at ${missingStoreLocation(config)}`);
  try {
    return await fn(local);
  } finally {
    await local.close();
  }
}

/** `12s`, `14m 3s`, `2h 14m`, `3d 4h`: the two largest units of an uptime. */
function uptimeText(seconds: number): string {
  const units: [string, number][] = [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ];
  let rest = Math.floor(seconds);
  const parts = units.flatMap(([unit, size]) => {
    const n = Math.floor(rest / size);
    rest -= n * size;
    return n > 0 ? [`${n}${unit}`] : [];
  });
  return parts.length === 0 ? '0s' : parts.slice(0, 2).join(' ');
}

function printInfo(ctx: CliContext, info: AdminInfoDto, where: string): void {
  const { store } = info;
  const schema = store.schema_version === store.latest ? `schema ${store.schema_version} (latest)` : `schema ${store.schema_version} of ${store.latest}`;
  out(ctx, `Agentry ${info.version} on Node.js ${info.node} (${where})`);
  out(ctx, `Store: ${store.kind} ${store.location}, ${schema}`);
  out(ctx, `Roles: ${info.roles.length === 0 ? 'none (the CLI on the store)' : info.roles.join(', ')}`);
  out(ctx, `Tenancy: ${info.tenancy.mode} (deployment tenant ${info.tenancy.tenant})`);
  out(ctx, `Started: ${formatIso(info.started_at)} (up ${uptimeText(info.uptime_s)})`);
}

function printSweep(ctx: CliContext, report: SweepDto): void {
  out(ctx, `Leases lapsed: ${plural(report.leases_expired, 'attempt')} re-queued or failed`);
  out(ctx, `Past their deadline: ${plural(report.runs_timed_out, 'run')} timed out, ${plural(report.tasks_overdue, 'human task')} expired or escalated`);
  out(
    ctx,
    `Schedules: ${report.schedules === null ? 'none known here' : `${plural(report.schedules.started, 'run')} started, ${plural(report.schedules.skipped, 'tick')} skipped`}`,
  );
  if (report.maintenance.length === 0) out(ctx, 'Maintenance: no retention configured');
  for (const m of report.maintenance) {
    const counts =
      m.counts === null
        ? 'done'
        : Object.entries(m.counts)
            .map(([k, v]) => `${v} ${k.replace(/_/g, ' ')}`)
            .join(', ');
    out(ctx, `Maintenance: ${m.task}: ${m.error === null ? counts : `failed: ${m.error}`}`);
  }
}

export function registerAdmin(program: Command, ctx: CliContext): void {
  const admin = program
    .command('admin')
    .description("The deployment's build, database and schema (info), and one pass of the scheduler's sweeps now (sweep --now)")
    .addHelpText(
      'after',
      '\nWith AGENTRY_URL (and AGENTRY_API_KEY: workers:read for info, maintenance:admin for sweep) set, these ask that server. See docs/operations/maintenance.md.',
    );

  admin
    .command('info')
    .description('Show the version, Node.js, the store (kind, location without password, schema version), roles, tenancy and uptime')
    .option('--json', 'print what GET /v1/admin/info returns')
    .option(...DIR_OPTION)
    .action(async (opts: { json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      noteRemoteDir(ctx, config, opts.dir);
      const remote = remoteOf(config);
      const startedAt = Date.now() - process.uptime() * 1000;
      const info = remote
        ? await remote.request<AdminInfoDto>('GET', '/v1/admin/info')
        : await withLocal(ctx, config, { project: false }, (l) =>
            l.services.admin.info(localOperator(ctx.env), { roles: [], tenancy: config.tenancy, startedAt }),
          );
      if (opts.json === true) return outJson(ctx, info);
      printInfo(ctx, info, remote ? remote.url : 'this CLI');
    });

  admin
    .command('sweep')
    .description("Run one pass of the scheduler's sweeps now: lapsed leases, runs and human tasks past their deadline, due schedules, retention")
    .option('--now', 'required: run the pass now (a scheduler runs them every poll interval by itself)')
    .option('--json', 'print what POST /v1/admin/sweep returns')
    .option(...DIR_OPTION)
    .action(async (opts: { now?: boolean; json?: boolean; dir?: string }) => {
      if (opts.now !== true)
        throw new AgentryError('invalid_request', 'admin sweep changes runs (timeouts, expiries, retention): confirm with --now (agentry admin sweep --now)');
      const config = configFrom(ctx, { projectDir: opts.dir });
      noteRemoteDir(ctx, config, opts.dir);
      const remote = remoteOf(config);
      const report = remote
        ? await remote.request<SweepDto>('POST', '/v1/admin/sweep', {})
        : await withLocal(ctx, config, { project: true }, (l) => l.services.admin.sweep(localOperator(ctx.env)));
      if (opts.json === true) return outJson(ctx, report);
      printSweep(ctx, report);
    });
}
