/**
 * Workflow schedules: list them, pause and resume one. The rows live in the store (shared by
 * every process); a schedule a workflow declares but no scheduler has stored yet is added
 * first, so these routes work before the first scheduler sweep.
 */
import { Type, type Static } from 'typebox';
import { ensureSchedules, pauseSchedule, resumeSchedule } from '../../engine/schedules.js';
import type { ScheduleRecord } from '../../types.js';
import type { RouteTable, ServerDeps } from '../route.js';

const Instant = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

export const ScheduleSchema = Type.Object(
  {
    workflow: Type.String(),
    cron: Type.String({ description: '5 fields (minute precision) or 6 (seconds first), or a nickname like @daily' }),
    timezone: Type.String({ description: 'IANA time zone the cron expression is read in' }),
    overlap: Type.Enum(['skip', 'allow'], { description: "skip: no run for a tick while the schedule's last run has not ended" }),
    catch_up: Type.Enum(['none', 'one'], { description: 'After missed ticks: none runs none of them, one runs the most recent once' }),
    paused: Type.Boolean(),
    next_at: Instant('The next tick; null while paused, or when the expression never matches again'),
    last_tick_at: Instant('The tick of the last run the schedule started'),
    last_run_id: Type.Union([Type.String(), Type.Null()], { description: 'The last run the schedule started' }),
  },
  { title: 'Schedule' },
);
export type ScheduleDto = Static<typeof ScheduleSchema>;

function iso(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}

export function scheduleDto(s: ScheduleRecord): ScheduleDto {
  return {
    workflow: s.workflow,
    cron: s.cron,
    timezone: s.timezone,
    overlap: s.overlap,
    catch_up: s.catchUp,
    paused: s.paused,
    next_at: iso(s.nextAt),
    last_tick_at: iso(s.lastTickAt),
    last_run_id: s.lastRunId,
  };
}

const WorkflowParam = Type.Object({ workflow: Type.String({ minLength: 1, maxLength: 128, description: 'Name of the scheduled workflow' }) });
const EmptyBody = Type.Object({}, { additionalProperties: false });

export function scheduleRoutes(table: RouteTable, deps: ServerDeps): void {
  const ensure = () => ensureSchedules(deps.store, deps.engine.workflows, Date.now());

  table.add({
    method: 'GET',
    url: '/v1/schedules',
    scope: 'runs:read',
    summary: 'List the workflow schedules with their next tick and last run',
    tags: ['schedules'],
    errors: [],
    schema: { response: { 200: Type.Object({ items: Type.Array(ScheduleSchema) }) } },
    async handler() {
      await ensure();
      return { items: (await deps.store.listSchedules()).map(scheduleDto) };
    },
  });

  table.add({
    method: 'POST',
    url: '/v1/schedules/:workflow/pause',
    scope: 'runs:write',
    summary: 'Pause a schedule: it starts no runs until resumed (pausing a paused one changes nothing)',
    tags: ['schedules'],
    errors: ['not_found'],
    schema: { params: WorkflowParam, body: EmptyBody, response: { 200: ScheduleSchema } },
    async handler(request, _reply, principal) {
      await ensure();
      const schedule = await pauseSchedule(deps.store, request.params.workflow);
      request.log.info({ workflow: schedule.workflow, principal: principal.name }, `schedule of ${schedule.workflow} paused`);
      return scheduleDto(schedule);
    },
  });

  table.add({
    method: 'POST',
    url: '/v1/schedules/:workflow/resume',
    scope: 'runs:write',
    summary: 'Resume a paused schedule from its next tick (ticks passed while paused are not run)',
    tags: ['schedules'],
    errors: ['not_found'],
    schema: { params: WorkflowParam, body: EmptyBody, response: { 200: ScheduleSchema } },
    async handler(request, _reply, principal) {
      await ensure();
      const schedule = await resumeSchedule(deps.store, request.params.workflow, Date.now());
      request.log.info({ workflow: schedule.workflow, principal: principal.name, next_at: iso(schedule.nextAt) }, `schedule of ${schedule.workflow} resumed`);
      return scheduleDto(schedule);
    },
  });
}
