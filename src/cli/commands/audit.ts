/**
 * `agentry audit list|export|verify|prune`: the audit log (docs/security.md#audit-log). `list`
 * reads the project's store or (with `AGENTRY_URL`) the server's `GET /v1/audit`; `--json`
 * prints the page as the API does, `--jsonl` one entry per line (with `--all`, every page).
 * `export` prints every matching entry oldest first as JSON Lines for a SIEM (the server's
 * `GET /v1/audit/export`). `verify` walks the hash chain in the database itself
 * (`AGENTRY_DATABASE_URL` or the project's store) and exits 1 naming the first broken entry.
 */
import type { Command } from 'commander';
import { localOperator } from '../../app/caller.js';
import type { AuditExportFilter, AuditQuery, AuditVerification } from '../../app/audit.js';
import type { Config } from '../../app/config.js';
import type { AuditPageDto } from '../../app/dto/audit.js';
import { formatDuration, parseDurationText } from '../../lib/duration.js';
import { AgentryError } from '../../lib/errors.js';
import { RemoteClient } from '../remote.js';
import { configFrom, loggerFor, noteRemoteDir, out, outJson, outStyle, parseIntegerArg, parseTenantArg, type CliContext, DIR_OPTION } from '../context.js';
import { formatIso, paint, table } from '../format.js';
import { walkPages } from '../pages.js';

interface FilterOptions {
  tenant?: string;
  principal?: string;
  action?: string;
  target?: string;
  run?: string;
  after?: string;
  before?: string;
  dir?: string;
}

interface ListOptions extends FilterOptions {
  after?: string;
  before?: string;
  limit?: number;
  cursor?: string;
  all?: boolean;
  json?: boolean;
  jsonl?: boolean;
  dir?: string;
}

function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new AgentryError('invalid_request', `--${name} is not an ISO 8601 date-time`);
  return ms;
}

/** One page of entries, from the server or the project's store. */
type PageReader = (cursor: string | undefined) => Promise<AuditPageDto>;

function serverReader(config: Config, opts: ListOptions, limit: number): PageReader {
  const client = new RemoteClient({ url: config.client.url!, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
  return (cursor) => {
    const query = new URLSearchParams({ limit: String(limit) });
    filterParams(opts, query);
    if (cursor !== undefined) query.set('cursor', cursor);
    return client.request<AuditPageDto>('GET', `/v1/audit?${query.toString()}`);
  };
}

/** The filters as the API's query parameters. */
function filterParams(opts: FilterOptions, query: URLSearchParams): void {
  for (const name of ['tenant', 'principal', 'action', 'target', 'after', 'before'] as const) {
    const value = opts[name];
    if (value !== undefined) query.set(name, value);
  }
  if (opts.run !== undefined) query.set('run_id', opts.run);
}

/** The filters as the audit service takes them. */
function auditFilter(opts: FilterOptions): AuditExportFilter {
  const after = parseTime(opts.after, 'after');
  const before = parseTime(opts.before, 'before');
  return {
    ...(opts.principal === undefined ? {} : { principal: opts.principal }),
    ...(opts.action === undefined ? {} : { action: opts.action }),
    ...(opts.target === undefined ? {} : { target: opts.target }),
    ...(opts.run === undefined ? {} : { runId: opts.run }),
    ...(after === undefined ? {} : { after }),
    ...(before === undefined ? {} : { before }),
  };
}

async function withReader<T>(ctx: CliContext, opts: ListOptions, fn: (read: PageReader) => Promise<T>): Promise<T> {
  const config = configFrom(ctx, { projectDir: opts.dir });
  noteRemoteDir(ctx, config, opts.dir);
  const limit = opts.limit ?? 100;
  if (config.client.url !== undefined) return fn(serverReader(config, opts, limit));
  const query: AuditQuery = { limit, ...auditFilter(opts) };
  const [{ storeExists }, { openLocalAudit }] = await Promise.all([import('../../app/bootstrap.js'), import('../../app/local.js')]);
  if (!storeExists(config)) return fn(() => Promise.resolve({ items: [], next_cursor: null }));
  const local = await openLocalAudit(config, { logger: loggerFor(config) });
  try {
    const caller = localOperator(ctx.env, opts.tenant);
    return await fn((cursor) => local.audit.list(caller, { ...query, ...(cursor === undefined ? {} : { cursor }) }));
  } finally {
    await local.close();
  }
}

async function verify(ctx: CliContext, dir: string | undefined): Promise<AuditVerification> {
  const config = configFrom(ctx, { projectDir: dir });
  const { openLocalAudit } = await import('../../app/local.js');
  const local = await openLocalAudit(config, { logger: loggerFor(config) });
  try {
    return await local.audit.verify();
  } finally {
    await local.close();
  }
}

async function prune(ctx: CliContext, dir: string | undefined, olderThan: number | undefined): Promise<{ pruned: number; retention_ms: number }> {
  const config = configFrom(ctx, { projectDir: dir });
  const retentionMs = olderThan ?? config.audit.retentionMs;
  if (retentionMs === undefined) {
    throw new AgentryError('invalid_request', 'no retention: set AGENTRY_AUDIT_RETENTION (e.g. 365d) or pass --older-than <duration>');
  }
  const { openLocalAudit } = await import('../../app/local.js');
  const local = await openLocalAudit(config, { logger: loggerFor(config) });
  try {
    return { pruned: await local.audit.prune(retentionMs, localOperator(ctx.env)), retention_ms: retentionMs };
  } finally {
    await local.close();
  }
}

/** Writes every entry matching the filters after seq `afterSeq`, oldest first, one JSON per line. */
async function exportEntries(ctx: CliContext, opts: FilterOptions, afterSeq: number): Promise<void> {
  const config = configFrom(ctx, { projectDir: opts.dir });
  noteRemoteDir(ctx, config, opts.dir);
  if (config.client.url !== undefined) {
    const client = new RemoteClient({ url: config.client.url, ...(config.client.apiKey === undefined ? {} : { apiKey: config.client.apiKey }) });
    const query = new URLSearchParams({ after_seq: String(afterSeq) });
    filterParams(opts, query);
    for await (const chunk of await client.stream(`/v1/audit/export?${query.toString()}`, 'application/x-ndjson')) ctx.stdout.write(Buffer.from(chunk));
    return;
  }
  const filter = auditFilter(opts);
  const [{ storeExists }, { openLocalAudit }] = await Promise.all([import('../../app/bootstrap.js'), import('../../app/local.js')]);
  if (!storeExists(config)) return;
  const local = await openLocalAudit(config, { logger: loggerFor(config) });
  try {
    for await (const page of await local.audit.export(localOperator(ctx.env, opts.tenant), filter, afterSeq)) {
      ctx.stdout.write(page.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
    }
  } finally {
    await local.close();
  }
}

function parseDurationArg(text: string): number {
  const ms = parseDurationText(text);
  if (ms === undefined || ms <= 0) throw new AgentryError('invalid_request', `--older-than must be a duration like 90d or 12h, got '${text}'`);
  return ms;
}

export function registerAudit(program: Command, ctx: CliContext): void {
  const audit = program
    .command('audit')
    .description('The tamper-evident audit log: list and export entries, verify the hash chain, prune')
    .addHelpText('after', '\nWith AGENTRY_URL (and AGENTRY_API_KEY with audit:read) set, list and export ask that server. See docs/security.md#audit-log.');

  audit
    .command('list')
    .description('List audit entries, newest first')
    .option(
      '--tenant <id>',
      "only this tenant's entries (local store: narrows the view, with the installation's own entries; with AGENTRY_URL: ?tenant=, for system admins)",
      parseTenantArg,
    )
    .option('--principal <name>', 'only entries by this principal (key name, CLI user, system)')
    .option('--action <action>', 'only this action (run.start, run.cancel, task.decide, …)')
    .option('--target <target>', 'only entries on this target (run:<id>, task:<id>, schedule:<workflow>, …)')
    .option('--run <id>', "only entries about this run (its start, cancel, retry, signals, its tasks' decisions)")
    .option('--after <time>', 'entries at or after this ISO 8601 time')
    .option('--before <time>', 'entries before this ISO 8601 time')
    .option('--limit <n>', 'entries per page (1–1000, default 100)', parseIntegerArg(1, 1000))
    .option('--cursor <cursor>', 'next_cursor of the previous page')
    .option('--all', 'every page, not only the first')
    .option('--json', 'print { items, next_cursor } as GET /v1/audit does (with --all: every item, next_cursor null)')
    .option('--jsonl', 'print one entry per line as JSON (JSON Lines, for a SIEM)')
    .option(...DIR_OPTION)
    .action(async (opts: ListOptions) => {
      await withReader(ctx, opts, async (read) => {
        const items: AuditPageDto['items'] = [];
        const cursor = await walkPages(read, opts.cursor, opts.all === true, (page) => {
          if (opts.jsonl === true) for (const item of page) ctx.stdout.write(`${JSON.stringify(item)}\n`);
          else items.push(...page);
        });
        if (opts.jsonl === true) return;
        if (opts.json === true) return outJson(ctx, { items, next_cursor: cursor ?? null });
        if (items.length === 0) return out(ctx, 'No audit entries.');
        const s = outStyle(ctx);
        const outcome = (o: string) => paint(s, o === 'success' ? 'green' : o === 'denied' ? 'yellow' : 'red', o);
        out(
          ctx,
          table(
            s,
            ['SEQ', 'TIME', 'TENANT', 'PRINCIPAL', 'ACTION', 'TARGET', 'OUTCOME', 'CLIENT', 'REQUEST'],
            items.map((e) => [
              String(e.seq),
              formatIso(e.at),
              e.tenant_id ?? '-',
              e.principal,
              e.action,
              e.target ?? '-',
              outcome(e.outcome),
              e.client_ip ?? '-',
              e.request_id ?? '-',
            ]),
          ),
        );
        if (cursor !== undefined) out(ctx, `More: --cursor ${cursor}`);
      });
    });

  audit
    .command('export')
    .description('Print every matching entry, oldest first, as JSON Lines for a SIEM (GET /v1/audit/export with AGENTRY_URL)')
    .option(
      '--after-seq <seq>',
      'only entries after this seq (the last one a previous export delivered; default 0)',
      parseIntegerArg(0, Number.MAX_SAFE_INTEGER),
    )
    .option('--tenant <id>', "only this tenant's entries (as for list)")
    .option('--principal <name>', 'only entries by this principal')
    .option('--action <action>', 'only this action')
    .option('--target <target>', 'only entries on this target')
    .option('--run <id>', 'only entries about this run')
    .option('--after <time>', 'entries at or after this ISO 8601 time')
    .option('--before <time>', 'entries before this ISO 8601 time')
    .option(...DIR_OPTION)
    .action(async (opts: FilterOptions & { afterSeq?: number }) => {
      await exportEntries(ctx, opts, opts.afterSeq ?? 0);
    });

  audit
    .command('verify')
    .description('Walk the hash chain in the database; exit 1 naming the first edited, deleted or reordered entry')
    .option('--json', 'print { ok, checked, head_seq, pruned_through_seq, broken }')
    .option(...DIR_OPTION)
    .action(async (opts: { json?: boolean; dir?: string }) => {
      const result = await verify(ctx, opts.dir);
      if (opts.json === true) outJson(ctx, result);
      else if (result.ok) {
        const from = result.pruned_through_seq > 0 ? ` (from the retention anchor at seq ${result.pruned_through_seq})` : '';
        out(ctx, `${paint(outStyle(ctx), 'green', '✓')} The audit log verifies: ${result.checked} entries, head at seq ${result.head_seq}${from}.`);
      }
      const broken = result.broken;
      if (broken !== null) {
        throw new AgentryError(
          'audit_chain_broken',
          `audit entry ${broken.seq}${broken.id === null ? '' : ` (${broken.id})`} breaks the chain: ${broken.reason}`,
          {
            details: { ...broken },
          },
        );
      }
    });

  audit
    .command('prune')
    .description('Delete entries older than the retention (AGENTRY_AUDIT_RETENTION or --older-than), leaving an anchor entry so the chain still verifies')
    .option('--older-than <duration>', 'delete entries older than this (e.g. 365d); default $AGENTRY_AUDIT_RETENTION', parseDurationArg)
    .option('--json', 'print { pruned, retention_ms }')
    .option(...DIR_OPTION)
    .action(async (opts: { olderThan?: number; json?: boolean; dir?: string }) => {
      const result = await prune(ctx, opts.dir, opts.olderThan);
      if (opts.json === true) return outJson(ctx, result);
      out(ctx, `Pruned ${result.pruned} audit ${result.pruned === 1 ? 'entry' : 'entries'} older than ${formatDuration(result.retention_ms)}.`);
    });
}
