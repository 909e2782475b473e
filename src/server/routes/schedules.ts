/**
 * Workflow schedules: list them, pause and resume one. The rows live in the store (shared by
 * every process); a schedule a workflow declares but no scheduler has stored yet is added
 * first, so these routes work before the first scheduler sweep.
 */
import { Type } from 'typebox';
import { ScheduleSchema } from '../../app/dto/schedules.js';
import type { RouteTable, ServerDeps } from '../route.js';

const WorkflowParam = Type.Object({ workflow: Type.String({ minLength: 1, maxLength: 128, description: 'Name of the scheduled workflow' }) });
const EmptyBody = Type.Object({}, { additionalProperties: false });

export function scheduleRoutes(table: RouteTable, deps: ServerDeps): void {
  const { schedules } = deps.services;

  table.add({
    method: 'GET',
    url: '/v1/schedules',
    scope: 'runs:read',
    summary: "List the tenant's workflow schedules with their next tick and last run",
    tags: ['schedules'],
    errors: [],
    schema: { operationId: 'listSchedules', response: { 200: Type.Object({ items: Type.Array(ScheduleSchema) }) } },
    handler: async (_request, _reply, principal) => ({ items: await schedules.list(principal) }),
  });

  table.add({
    method: 'POST',
    url: '/v1/schedules/:workflow/pause',
    scope: 'runs:write',
    summary: 'Pause a schedule: it starts no runs until resumed (pausing a paused one changes nothing)',
    tags: ['schedules'],
    errors: ['not_found'],
    schema: { operationId: 'pauseSchedule', params: WorkflowParam, body: EmptyBody, response: { 200: ScheduleSchema } },
    async handler(request, _reply, principal) {
      const schedule = await schedules.pause(principal, request.params.workflow);
      request.log.info({ workflow: schedule.workflow, principal: principal.name }, `schedule of ${schedule.workflow} paused`);
      return schedule;
    },
  });

  table.add({
    method: 'POST',
    url: '/v1/schedules/:workflow/resume',
    scope: 'runs:write',
    summary: 'Resume a paused schedule from its next tick (ticks passed while paused are not run)',
    tags: ['schedules'],
    errors: ['not_found'],
    schema: { operationId: 'resumeSchedule', params: WorkflowParam, body: EmptyBody, response: { 200: ScheduleSchema } },
    async handler(request, _reply, principal) {
      const schedule = await schedules.resume(principal, request.params.workflow);
      request.log.info({ workflow: schedule.workflow, principal: principal.name, next_at: schedule.next_at }, `schedule of ${schedule.workflow} resumed`);
      return schedule;
    },
  });
}
