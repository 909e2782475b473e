/**
 * `agentry limits show`: the request rate limits and run quotas in force (`limits:` of
 * agentry.yaml) with each tenant's run usage — from the project and its store, or (with
 * `AGENTRY_URL`) the server's `GET /v1/admin/quotas`. `--json` prints what the API returns.
 * Locally every tenant is shown (local access to the store is operator access); without a
 * store yet, usage is zero.
 */
import type { Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { QuotasDto, RateLimitDto, TenantLimitsDto } from '../../app/dto/limits.js';
import type { Config } from '../../app/config.js';
import { RemoteClient } from '../remote.js';
import { configFrom, loggerFor, noteRemoteDir, out, outJson, outStyle, type CliContext, DIR_OPTION } from '../context.js';
import { paint, table } from '../format.js';

async function localQuotas(ctx: CliContext, config: Config): Promise<QuotasDto> {
  // Loaded only for local mode: they open the project and the store.
  const [{ loadProjectOrThrow, storeExists }, { openLocalServices }, { quotasDto }] = await Promise.all([
    import('../../app/bootstrap.js'),
    import('../../app/local.js'),
    import('../../app/limits.js'),
  ]);
  const project = await loadProjectOrThrow(config, ctx.env);
  const caller = localOperator(ctx.env);
  if (!storeExists(config)) return quotasDto(project.settings.limits, [], caller, config.tenant);
  const local = await openLocalServices(config, { logger: loggerFor(config), env: ctx.env, project });
  if (local === undefined) return quotasDto(project.settings.limits, [], caller, config.tenant);
  try {
    return await local.services.limits.quotas(caller);
  } finally {
    await local.close();
  }
}

function limitText(value: number | null): string {
  return value === null ? 'unlimited' : String(value);
}

function rateText(rate: RateLimitDto | { requests_per_minute: number | null; burst: number | null }): string {
  if (rate === null || rate.requests_per_minute === null) return 'unlimited';
  return `${rate.requests_per_minute}/min (burst ${rate.burst ?? rate.requests_per_minute})`;
}

function usedText(used: number, limit: number | null): string {
  return limit === null ? `${used}` : `${used}/${limit}`;
}

function tenantRow(name: string, limits: TenantLimitsDto): string[] {
  return [name, rateText(limits), limitText(limits.max_concurrent_runs), limitText(limits.max_runs_per_hour)];
}

function print(ctx: CliContext, quotas: QuotasDto): void {
  const s = outStyle(ctx);
  const header = ['TENANT', 'REQUESTS', 'CONCURRENT RUNS', 'RUNS PER HOUR'];
  const tenants = [tenantRow('(defaults)', quotas.defaults), ...Object.entries(quotas.tenants).map(([name, limits]) => tenantRow(name, limits))];
  out(ctx, paint(s, 'bold', 'Tenant limits'));
  out(ctx, table(s, header, tenants));
  const rates = [
    ...Object.entries(quotas.roles).map(([name, rate]) => [`role ${name}`, rateText(rate)]),
    ...Object.entries(quotas.keys).map(([name, rate]) => [`key ${name}`, rateText(rate)]),
  ];
  if (rates.length > 0) {
    out(ctx, '');
    out(ctx, paint(s, 'bold', 'Key limits'));
    out(ctx, table(s, ['WHO', 'REQUESTS'], rates));
  }
  out(ctx, '');
  out(ctx, paint(s, 'bold', 'Run usage'));
  out(
    ctx,
    table(
      s,
      ['TENANT', 'CONCURRENT RUNS', 'RUNS LAST HOUR'],
      quotas.usage.map((u) => [u.tenant_id, usedText(u.concurrent_runs, u.limits.max_concurrent_runs), usedText(u.runs_last_hour, u.limits.max_runs_per_hour)]),
    ),
  );
}

export function registerLimits(program: Command, ctx: CliContext): void {
  const limits = program
    .command('limits')
    .description('Request rate limits and run quotas (limits: in agentry.yaml) with run usage per tenant')
    .addHelpText('after', '\nWith AGENTRY_URL (and AGENTRY_API_KEY with usage:read) set, show asks that server. See docs/security.md#rate-limits-and-quotas.');

  limits
    .command('show')
    .description('Show the limits in force and each tenant’s concurrent runs and runs in the last hour')
    .option('--json', 'print what GET /v1/admin/quotas returns')
    .option(...DIR_OPTION)
    .action(async (opts: { json?: boolean; dir?: string }) => {
      const config = configFrom(ctx, { projectDir: opts.dir });
      noteRemoteDir(ctx, config, opts.dir);
      const quotas =
        config.client.url === undefined
          ? await localQuotas(ctx, config)
          : await new RemoteClient({
              url: config.client.url,
              ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }),
            }).request<QuotasDto>('GET', '/v1/admin/quotas');
      if (opts.json === true) return outJson(ctx, quotas);
      print(ctx, quotas);
    });
}
