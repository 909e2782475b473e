/** LLM usage from the gateway's ledger: tokens, cost and calls by tenant, workflow, model group, model and UTC day. */
import { Type } from 'typebox';
import { UsageCallPageSchema } from '../../app/dto/usage-calls.js';
import { BudgetReportSchema, UsageReportSchema } from '../../app/dto/usage.js';
import { AgentryError } from '../../lib/errors.js';
import { CALL_OUTCOMES } from '../../types.js';
import type { RouteTable, ServerDeps } from '../route.js';

const DAY = '^\\d{4}-\\d{2}-\\d{2}$';

/** `text` when it is a real calendar day (the pattern checked its shape); `invalid_request` naming the parameter otherwise. */
function parseDay(text: string | undefined, name: string): string | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(`${text}T00:00:00Z`);
  if (Number.isNaN(ms) || new Date(ms).toISOString().slice(0, 10) !== text) throw new AgentryError('invalid_request', `${name} is not a date (YYYY-MM-DD)`);
  return text;
}

/** Epoch ms of an ISO 8601 date-time (the format checked its shape); `invalid_request` naming the parameter otherwise. */
function parseTime(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new AgentryError('invalid_request', `${name} is not an ISO 8601 date-time`);
  return ms;
}

const Name = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 128, description }));

export function usageRoutes(table: RouteTable, deps: ServerDeps): void {
  table.add({
    method: 'GET',
    url: '/v1/usage',
    scope: 'usage:read',
    summary: 'LLM tokens, cost and calls by tenant, workflow, model group, model and UTC day',
    tags: ['usage'],
    errors: [],
    schema: {
      operationId: 'getUsage',
      querystring: Type.Object({
        workflow: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        run_id: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
        from: Type.Optional(Type.String({ pattern: DAY, description: 'First UTC day (YYYY-MM-DD), inclusive' })),
        to: Type.Optional(Type.String({ pattern: DAY, description: 'Last UTC day (YYYY-MM-DD), inclusive' })),
      }),
      response: { 200: UsageReportSchema },
    },
    handler(request, _reply, principal) {
      const q = request.query;
      const fromDay = parseDay(q.from, 'from');
      const toDay = parseDay(q.to, 'to');
      return deps.services.usage.report(principal, {
        ...(q.workflow === undefined ? {} : { workflow: q.workflow }),
        ...(q.run_id === undefined ? {} : { runId: q.run_id }),
        ...(fromDay === undefined ? {} : { fromDay }),
        ...(toDay === undefined ? {} : { toDay }),
      });
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/usage/budgets',
    scope: 'usage:read',
    summary: "The state of the caller's tenant's LLM budgets: limit, spent and reserved, per day and month",
    tags: ['usage'],
    errors: [],
    schema: { operationId: 'listBudgets', response: { 200: BudgetReportSchema } },
    handler(_request, _reply, principal) {
      // A key bound to no tenant acts in the deployment's tenant, as on the gateway routes.
      return deps.services.usage.budgets(principal, principal.tenantId);
    },
  });

  table.add({
    method: 'GET',
    url: '/v1/usage/calls',
    scope: 'usage:read',
    summary: 'Every LLM call attempt in the usage ledger, newest first: latency, tokens, cost, error code, cache hit',
    tags: ['usage'],
    errors: ['invalid_request'],
    schema: {
      operationId: 'listUsageCalls',
      querystring: Type.Object({
        run_id: Name('Only calls of this run'),
        workflow: Name('Only calls of runs of this workflow'),
        model_group: Name('Only calls to this model group'),
        status: Type.Optional(Type.Enum([...CALL_OUTCOMES], { description: 'Only attempts with this outcome' })),
        after: Type.Optional(Type.String({ format: 'date-time', description: 'Calls started at or after this time' })),
        before: Type.Optional(Type.String({ format: 'date-time', description: 'Calls started before this time' })),
        limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
        cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'next_cursor of the previous page' })),
      }),
      response: { 200: UsageCallPageSchema },
    },
    handler(request, _reply, principal) {
      const q = request.query;
      const after = parseTime(q.after, 'after');
      const before = parseTime(q.before, 'before');
      return deps.services.usageCalls.list(principal, {
        limit: q.limit ?? 100,
        ...(q.run_id === undefined ? {} : { runId: q.run_id }),
        ...(q.workflow === undefined ? {} : { workflow: q.workflow }),
        ...(q.model_group === undefined ? {} : { group: q.model_group }),
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(after === undefined ? {} : { after }),
        ...(before === undefined ? {} : { before }),
        ...(q.cursor === undefined ? {} : { cursor: q.cursor }),
      });
    },
  });
}
