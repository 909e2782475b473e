/**
 * `agentry workers list|drain <id>` and `agentry maintenance on|off|status`: the worker processes
 * of the deployment and the switch that pauses claiming fleet-wide — on the project's store, or
 * (with `AGENTRY_URL`) through the server's `/v1/admin/workers` and `/v1/admin/maintenance`.
 * `--json` prints what the API returns. See docs/operations/maintenance.md.
 */
import type { Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { Config } from '../../app/config.js';
import type { MaintenanceDto, WorkerDto, WorkerListDto } from '../../app/dto/fleet.js';
import type { LocalFleet } from '../../app/local.js';
import { AgentryError } from '../../lib/errors.js';
import { RemoteClient } from '../remote.js';
import { configFrom, DIR_OPTION, loggerFor, noteRemoteDir, out, outJson, outStyle, type CliContext } from '../context.js';
import { formatIso, paint, table } from '../format.js';

type Remote = { kind: 'remote'; client: RemoteClient };
type Local = { kind: 'local'; open: (create: boolean) => Promise<LocalFleet | undefined>; where: string };

/** The server of `AGENTRY_URL`, else the project's store. */
function targetOf(config: Config): Remote | Local {
  if (config.client.url !== undefined) {
    return {
      kind: 'remote',
      client: new RemoteClient({ url: config.client.url, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) }),
    };
  }
  return {
    kind: 'local',
    where: config.database.kind === 'sqlite' ? config.database.file : 'the PostgreSQL database',
    open: async (create) => (await import('../../app/local.js')).openLocalFleet(config, { logger: loggerFor(config), createStore: create }),
  };
}

/** Runs `fn` on the local fleet service, closing the store after; `empty` when there is no store yet. */
async function withLocal<T>(target: Local, create: boolean, fn: (local: LocalFleet) => Promise<T>, empty: () => T): Promise<T> {
  const local = await target.open(create);
  if (local === undefined) return empty();
  try {
    return await fn(local);
  } finally {
    await local.close();
  }
}

function stateText(ctx: CliContext, state: WorkerDto['state']): string {
  return paint(outStyle(ctx), state === 'active' ? 'green' : state === 'draining' ? 'yellow' : 'red', state);
}

function printWorkers(ctx: CliContext, list: WorkerListDto, where: string): void {
  if (list.items.length === 0) return out(ctx, `No worker is registered in ${where} (a worker registers when it starts, and removes itself when it stops).`);
  out(
    ctx,
    table(
      outStyle(ctx),
      ['ID', 'HOST', 'PID', 'ROLES', 'CONCURRENCY', 'STEPS', 'HEARTBEAT', 'STATE'],
      list.items.map((w) => [
        w.id,
        w.host,
        String(w.pid),
        w.roles.join(','),
        String(w.concurrency),
        String(w.current_steps),
        `${w.heartbeat_age_s.toFixed(1)}s ago`,
        stateText(ctx, w.state),
      ]),
    ),
  );
}

function maintenanceText(m: MaintenanceDto): string {
  if (!m.on) return 'Maintenance mode is off: workers claim steps.';
  const since = `since ${formatIso(m.since)} (by ${m.by ?? '?'}${m.reason === null ? '' : `: ${m.reason}`})`;
  if (m.quiesce)
    return `Maintenance mode is on, quiesced, ${since}: the API refuses new runs (503 maintenance_quiesced) and /readyz of API processes answers 503; workers finish the accepted runs.`;
  return `Maintenance mode is on ${since}: no worker claims a step; the API answers and new runs queue.`;
}

export function registerWorkers(program: Command, ctx: CliContext): void {
  const workers = program
    .command('workers')
    .description('The worker processes: list them (host, roles, steps held, heartbeat, state) and drain one')
    .addHelpText(
      'after',
      '\nWith AGENTRY_URL (and AGENTRY_API_KEY with workers:read / workers:write) set, these ask that server. See docs/operations/maintenance.md.',
    );

  workers
    .command('list')
    .description('List the worker processes: id, host, pid, roles, concurrency, running steps, heartbeat age, state (active, draining, stale)')
    .option('--json', 'print what GET /v1/admin/workers returns')
    .option(...DIR_OPTION)
    .action(async (opts: { json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      noteRemoteDir(ctx, config, opts.dir);
      const target = targetOf(config);
      const list =
        target.kind === 'remote'
          ? await target.client.request<WorkerListDto>('GET', '/v1/admin/workers')
          : await withLocal(
              target,
              false,
              (l) => l.fleet.list(localOperator(ctx.env)),
              () => ({ items: [] }),
            );
      if (opts.json === true) return outJson(ctx, list);
      printWorkers(ctx, list, target.kind === 'remote' ? target.client.url : target.where);
    });

  workers
    .command('drain')
    .description('Drain a worker: it claims no more steps, finishes its running ones (hands back the rest after its shutdown grace) and exits 0')
    .argument('<id>', 'worker id (wrk_…), as `agentry workers list` shows it')
    .option('--json', 'print the worker as POST /v1/admin/workers/{id}/drain returns it')
    .option(...DIR_OPTION)
    .action(async (id: string, opts: { json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      noteRemoteDir(ctx, config, opts.dir);
      const target = targetOf(config);
      const worker =
        target.kind === 'remote'
          ? await target.client.request<WorkerDto>('POST', `/v1/admin/workers/${encodeURIComponent(id)}/drain`, {})
          : await withLocal(
              target,
              false,
              (l) => l.fleet.drain(localOperator(ctx.env), id),
              () => {
                throw new AgentryError('not_found', `no worker '${id}': there is no store at ${target.where} yet`);
              },
            );
      if (opts.json === true) return outJson(ctx, worker);
      out(
        ctx,
        `Worker ${worker.id} (${worker.host}, pid ${worker.pid}) is draining: it claims no more steps, finishes the ${worker.current_steps} it runs ` +
          `(the rest are handed back after its shutdown grace) and exits once its next heartbeat sees the request. Follow it with: agentry workers list`,
      );
    });
}

export function registerMaintenance(program: Command, ctx: CliContext): void {
  const maintenance = program
    .command('maintenance')
    .description('Maintenance mode: pause claiming fleet-wide while the API keeps answering, or quiesce (on, off, status)')
    .addHelpText(
      'after',
      `
While it is on no worker claims a step (running ones finish); runs started meanwhile queue and
start once it is off. With --quiesce the API refuses new runs instead (and /readyz of API
processes answers 503) while workers finish the runs already accepted. With AGENTRY_URL (and AGENTRY_API_KEY with maintenance:admin, an admin key)
set, these ask that server. See docs/operations/maintenance.md.`,
    );

  const act = async (
    opts: { json?: boolean; dir?: string },
    remote: (c: RemoteClient) => Promise<MaintenanceDto>,
    local: (l: LocalFleet) => Promise<MaintenanceDto>,
    create: boolean,
  ) => {
    const config = configFrom(ctx, { projectDir: opts.dir });
    noteRemoteDir(ctx, config, opts.dir);
    const target = targetOf(config);
    const state =
      target.kind === 'remote'
        ? await remote(target.client)
        : await withLocal(target, create, local, () => ({ on: false, quiesce: false, reason: null, since: null, by: null }));
    if (opts.json === true) return outJson(ctx, state);
    out(ctx, maintenanceText(state));
  };

  maintenance
    .command('on')
    .description('Turn maintenance mode on: no worker claims a step until it is turned off (already on: updates the reason and the mode)')
    .option('--reason <text>', 'why, shown by status, /readyz and the audit log')
    .option('--quiesce', 'quiesce instead: the API refuses new runs and /readyz of API processes answers 503, while workers finish the accepted runs')
    .option('--json', 'print what PUT /v1/admin/maintenance returns')
    .option(...DIR_OPTION)
    .action((opts: { reason?: string; quiesce?: boolean; json?: boolean; dir?: string }) =>
      act(
        opts,
        (c) =>
          c.request<MaintenanceDto>('PUT', '/v1/admin/maintenance', {
            ...(opts.reason === undefined ? {} : { reason: opts.reason }),
            ...(opts.quiesce === true ? { quiesce: true } : {}),
          }),
        (l) => l.fleet.startMaintenance(localOperator(ctx.env), opts.reason, opts.quiesce === true),
        true,
      ),
    );

  maintenance
    .command('off')
    .description('Turn maintenance mode off: workers claim again at their next poll')
    .option('--json', 'print what DELETE /v1/admin/maintenance returns')
    .option(...DIR_OPTION)
    .action((opts: { json?: boolean; dir?: string }) =>
      act(
        opts,
        (c) => c.request<MaintenanceDto>('DELETE', '/v1/admin/maintenance'),
        (l) => l.fleet.endMaintenance(localOperator(ctx.env)),
        false,
      ),
    );

  maintenance
    .command('status')
    .description('Show whether maintenance mode is on, since when, by whom and why')
    .option('--json', 'print what GET /v1/admin/maintenance returns')
    .option(...DIR_OPTION)
    .action((opts: { json?: boolean; dir?: string }) =>
      act(
        opts,
        (c) => c.request<MaintenanceDto>('GET', '/v1/admin/maintenance'),
        (l) => l.fleet.maintenance(localOperator(ctx.env)),
        false,
      ),
    );
}
