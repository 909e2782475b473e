/**
 * The audit log: who did what, newest first, filtered and cursor-paged; and the same entries
 * oldest first as JSON Lines for a SIEM (`/v1/audit/export`). Needs `audit:read` (admin keys).
 * A caller reads its tenant's entries (a system admin names another with `?tenant=`, the
 * parameter every authenticated route takes); system admins also read the installation's own
 * entries (migrations, failed sign-ins, retention).
 */
import { Readable } from 'node:stream';
import { Type, type Static } from 'typebox';
import type { AuditExportFilter } from '../../app/audit.js';
import { AuditPageSchema } from '../../app/dto/audit.js';
import { AgentryError } from '../../lib/errors.js';
import type { RouteTable, ServerDeps } from '../route.js';

function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new AgentryError('invalid_request', `${name} is not an ISO 8601 date-time`);
  return ms;
}

const Text = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 256, description }));

/** The filters both routes take. */
const FILTERS = {
  principal: Text('Only entries by this principal (key name, CLI user, system)'),
  action: Text('Only this action (run.cancel, task.decide, …)'),
  target: Text('Only entries on this target (run:<id>, task:<id>, schedule:<workflow>, …)'),
  run_id: Text("Only entries about this run: its start, cancel, retry, signals and its tasks' decisions"),
  after: Type.Optional(Type.String({ format: 'date-time', description: 'Entries at or after this time' })),
  before: Type.Optional(Type.String({ format: 'date-time', description: 'Entries before this time' })),
};
type FilterQuery = Static<ReturnType<typeof Type.Object<typeof FILTERS>>>;

function auditFilter(q: FilterQuery): AuditExportFilter {
  const after = parseTime(q.after, 'after');
  const before = parseTime(q.before, 'before');
  return {
    ...(q.principal === undefined ? {} : { principal: q.principal }),
    ...(q.action === undefined ? {} : { action: q.action }),
    ...(q.target === undefined ? {} : { target: q.target }),
    ...(q.run_id === undefined ? {} : { runId: q.run_id }),
    ...(after === undefined ? {} : { after }),
    ...(before === undefined ? {} : { before }),
  };
}

export function auditRoutes(table: RouteTable, deps: ServerDeps): void {
  const { audit } = deps.services;
  table.add({
    method: 'GET',
    url: '/v1/audit',
    scope: 'audit:read',
    summary: 'List audit log entries, newest first',
    tags: ['audit'],
    errors: ['invalid_request'],
    schema: {
      operationId: 'listAuditEntries',
      querystring: Type.Object({
        ...FILTERS,
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'next_cursor of the previous page' })),
      }),
      response: { 200: AuditPageSchema },
    },
    handler(request, _reply, principal) {
      const q = request.query;
      return audit.list(principal, { ...auditFilter(q), limit: q.limit ?? 100, ...(q.cursor === undefined ? {} : { cursor: q.cursor }) });
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/audit/export',
    scope: 'audit:read',
    summary: 'Every matching audit entry, oldest first, as JSON Lines (for a SIEM)',
    tags: ['audit'],
    errors: ['invalid_request'],
    schema: {
      operationId: 'exportAudit',
      querystring: Type.Object({
        ...FILTERS,
        after_seq: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: Number.MAX_SAFE_INTEGER,
            description: 'Only entries after this seq: the last seq a previous export delivered (default 0: from the start)',
          }),
        ),
      }),
      response: {
        200: {
          description: 'One audit entry (as in GET /v1/audit) per line, in chain order',
          content: { 'application/x-ndjson': { schema: Type.String() } },
        },
      },
    },
    async handler(request, reply, principal) {
      const pages = await audit.export(principal, auditFilter(request.query), request.query.after_seq ?? 0);
      // A stream is not a string the app's onSend hook masks: each page is masked here.
      const lines = (async function* () {
        for await (const page of pages) yield deps.redactor.text(page.map((entry) => `${JSON.stringify(entry)}\n`).join(''));
      })();
      return reply.type('application/x-ndjson; charset=utf-8').header('cache-control', 'no-store').send(Readable.from(lines));
    },
  });
}
