/**
 * `agentry schedules list|pause <workflow>|resume <workflow>`: the workflows' schedules, in
 * the project's store or (with `AGENTRY_URL`) on a server. `--json` prints what the API returns.
 *
 * Locally the project's schedules are synced into the store first (as a scheduler does when it
 * starts), so they show, and can be paused, before any scheduler ran. `list` never creates the
 * store: without one it shows what the project declares.
 */
import type { Command } from 'commander';
import type { Config } from '../../app/config.js';
import type { ScheduleDto } from '../../app/dto/schedules.js';
import type { LocalSchedules } from '../../app/local.js';
import { RemoteClient } from '../remote.js';
import { configFrom, loggerFor, noteRemoteDir, out, outJson, outStyle, TENANT_OPTION, type CliContext, DIR_OPTION } from '../context.js';
import { formatIso, paint, table } from '../format.js';
import { localOperator } from '../../app/caller.js';

/** Where the schedules are: the server's API, or the project's store. */
interface SchedulesApi {
  list(): Promise<ScheduleDto[]>;
  pause(workflow: string): Promise<ScheduleDto>;
  resume(workflow: string): Promise<ScheduleDto>;
}

/** The schedules of the server or the project's store; of `tenant` only with `--tenant`. */
async function withSchedules<T>(ctx: CliContext, dir: string | undefined, fn: (api: SchedulesApi) => Promise<T>, tenant?: string): Promise<T> {
  const config = configFrom(ctx, { projectDir: dir });
  noteRemoteDir(ctx, config, dir);
  if (config.client.url !== undefined) return fn(serverApi(config.client.url, config.client.apiKey, tenant));
  return withLocalApi(ctx, config, fn, tenant);
}

// ---- local: the project's store ----

async function withLocalApi<T>(ctx: CliContext, config: Config, fn: (api: SchedulesApi) => Promise<T>, tenant: string | undefined): Promise<T> {
  // Loaded only for local mode: they open the project and the store.
  const [{ loadProjectOrThrow, storeExists }, { openLocalSchedules }, { declaredSchedules }] = await Promise.all([
    import('../../app/bootstrap.js'),
    import('../../app/local.js'),
    import('../../app/schedules.js'),
  ]);
  const project = await loadProjectOrThrow(config, ctx.env);
  const caller = localOperator(ctx.env, tenant);
  let local: LocalSchedules | undefined;
  const open = async (): Promise<LocalSchedules['schedules']> =>
    (local ??= await openLocalSchedules(config, { logger: loggerFor(config), workflows: project.workflows })).schedules;
  const api: SchedulesApi = {
    // Nothing stored yet: what the project declares, from now on.
    list: async () => (storeExists(config) ? (await open()).list(caller) : declaredSchedules(project.workflows, config.tenant, tenant)),
    pause: async (workflow) => (await open()).pause(caller, workflow),
    resume: async (workflow) => (await open()).resume(caller, workflow),
  };
  try {
    return await fn(api);
  } finally {
    await local?.close();
  }
}

// ---- remote: the server's API ----

function serverApi(url: string, apiKey: string | undefined, tenant: string | undefined): SchedulesApi {
  const client = new RemoteClient({ url, ...(apiKey === undefined ? {} : { apiKey }), ...(tenant === undefined ? {} : { tenant }) });
  const action = (workflow: string, verb: 'pause' | 'resume') =>
    client.request<ScheduleDto>('POST', `/v1/schedules/${encodeURIComponent(workflow)}/${verb}`, {});
  return {
    list: async () => (await client.request<{ items: ScheduleDto[] }>('GET', '/v1/schedules')).items,
    pause: (workflow) => action(workflow, 'pause'),
    resume: (workflow) => action(workflow, 'resume'),
  };
}

// ---- the commands ----

function scheduleLine(s: ScheduleDto): string {
  const next = s.paused ? 'paused' : s.next_at === null ? 'never again' : `next tick ${formatIso(s.next_at)}`;
  return `${s.workflow} (${s.cron} ${s.timezone}): ${next}`;
}

export function registerSchedules(program: Command, ctx: CliContext): void {
  const schedules = program
    .command('schedules')
    .description("Workflow schedules (a workflow's schedule: field): list, pause, resume")
    .addHelpText('after', '\nWith AGENTRY_URL (and AGENTRY_API_KEY) set, these commands talk to that server and --dir is ignored. See docs/workflows.md.');

  schedules
    .command('list')
    .description('List the schedules with their next tick and last run')
    .option('--json', 'print { items } as GET /v1/schedules does')
    .option(...TENANT_OPTION)
    .option(...DIR_OPTION)
    .action(async (opts: { json?: boolean; tenant?: string; dir?: string }) => {
      await withSchedules(
        ctx,
        opts.dir,
        async (api) => {
          const items = await api.list();
          if (opts.json === true) return outJson(ctx, { items });
          if (items.length === 0) return out(ctx, 'No schedules (no workflow has a schedule: field).');
          const s = outStyle(ctx);
          const state = (item: ScheduleDto) => (item.paused ? paint(s, 'yellow', 'paused') : paint(s, 'green', 'active'));
          out(
            ctx,
            table(
              s,
              ['WORKFLOW', 'TENANT', 'CRON', 'TIMEZONE', 'STATE', 'NEXT TICK', 'LAST TICK', 'LAST RUN', 'OVERLAP', 'CATCH-UP'],
              items.map((i) => [
                i.workflow,
                i.tenant_id,
                i.cron,
                i.timezone,
                state(i),
                formatIso(i.next_at),
                formatIso(i.last_tick_at),
                i.last_run_id ?? '-',
                i.overlap,
                i.catch_up,
              ]),
            ),
          );
        },
        opts.tenant,
      );
    });

  schedules
    .command('pause')
    .description('Pause a schedule: it starts no runs until resumed')
    .argument('<workflow>', 'name of the scheduled workflow')
    .option('--json', 'print the schedule as JSON')
    .option(...DIR_OPTION)
    .action(async (workflow: string, opts: { json?: boolean; dir?: string }) => {
      await withSchedules(ctx, opts.dir, async (api) => {
        const schedule = await api.pause(workflow);
        if (opts.json === true) return outJson(ctx, schedule);
        out(ctx, `${paint(outStyle(ctx), 'yellow', '⏸')} Paused ${scheduleLine(schedule)}.`);
      });
    });

  schedules
    .command('resume')
    .description('Resume a paused schedule from its next tick (ticks passed while paused are not run)')
    .argument('<workflow>', 'name of the scheduled workflow')
    .option('--json', 'print the schedule as JSON')
    .option(...DIR_OPTION)
    .action(async (workflow: string, opts: { json?: boolean; dir?: string }) => {
      await withSchedules(ctx, opts.dir, async (api) => {
        const schedule = await api.resume(workflow);
        if (opts.json === true) return outJson(ctx, schedule);
        out(ctx, `${paint(outStyle(ctx), 'green', '▶')} Resumed ${scheduleLine(schedule)}.`);
      });
    });
}
