/** What the API returns for workflow schedules (`/v1/schedules`), and the record → DTO mapping. */
import { Type, type Static } from 'typebox';
import type { ScheduleRecord } from '../../types.js';
import { iso } from './common.js';

const Instant = (description: string) => Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description });

export const ScheduleSchema = Type.Object(
  {
    workflow: Type.String(),
    tenant_id: Type.String({ description: "The tenant the schedule's runs belong to (its `tenant:`, else the deployment's)" }),
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

export function scheduleDto(s: ScheduleRecord): ScheduleDto {
  return {
    workflow: s.workflow,
    tenant_id: s.tenantId,
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
