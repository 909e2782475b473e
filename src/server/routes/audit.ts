/**
 * The audit log: who did what, newest first, filtered and cursor-paged. Needs `audit:read`
 * (admin keys). A caller reads its tenant's entries (a system admin names another with
 * `?tenant=`, the parameter every authenticated route takes); system admins also read the
 * installation's own entries (migrations, failed sign-ins, retention).
 */
import { Type } from 'typebox';
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
      querystring: Type.Object({
        principal: Text('Only entries by this principal (key name, CLI user, system)'),
        action: Text('Only this action (run.cancel, task.decide, …)'),
        target: Text('Only entries on this target (run:<id>, task:<id>, schedule:<workflow>, …)'),
        after: Type.Optional(Type.String({ format: 'date-time', description: 'Entries at or after this time' })),
        before: Type.Optional(Type.String({ format: 'date-time', description: 'Entries before this time' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'next_cursor of the previous page' })),
      }),
      response: { 200: AuditPageSchema },
    },
    handler(request, _reply, principal) {
      const q = request.query;
      const after = parseTime(q.after, 'after');
      const before = parseTime(q.before, 'before');
      return audit.list(principal, {
        limit: q.limit ?? 100,
        ...(q.principal === undefined ? {} : { principal: q.principal }),
        ...(q.action === undefined ? {} : { action: q.action }),
        ...(q.target === undefined ? {} : { target: q.target }),
        ...(after === undefined ? {} : { after }),
        ...(before === undefined ? {} : { before }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
    },
  });
}
