/** What the API returns for the fleet: its worker processes (`/v1/admin/workers`) and the maintenance mode (`/v1/admin/maintenance`). */
import { Type, type Static } from 'typebox';
import type { MaintenanceRecord, WorkerRecord } from '../../store/store.js';
import { iso, Nullable, Time } from './common.js';

const WORKER_STATES = ['active', 'draining', 'stale'] as const;

export const WorkerSchema = Type.Object(
  {
    id: Type.String({ description: 'The process’s worker id (`wrk_…`), as `agentry workers drain` takes it' }),
    host: Type.String(),
    pid: Type.Integer(),
    roles: Type.Array(Type.String(), { description: 'What the process runs: `worker` (a worker pool), `scheduler` (the sweeps)' }),
    concurrency: Type.Integer({ description: 'Steps its worker pool runs at once at most' }),
    current_steps: Type.Integer({ description: 'Running steps it holds a lease on now' }),
    started_at: Time,
    heartbeat_at: Time,
    heartbeat_age_s: Type.Number({ description: 'Seconds since its last heartbeat reached the database' }),
    drain_requested_at: Nullable(Time),
    state: Type.Enum([...WORKER_STATES], {
      description:
        '`active`; `draining` (asked to drain: claims no step, finishes its running ones, then exits); `stale` (no heartbeat for 3 lease TTLs: gone or cut off)',
    }),
  },
  { title: 'Worker' },
);
export type WorkerDto = Static<typeof WorkerSchema>;

export const WorkerListSchema = Type.Object({ items: Type.Array(WorkerSchema) }, { title: 'WorkerList' });
export type WorkerListDto = Static<typeof WorkerListSchema>;

export function workerDto(w: WorkerRecord, currentSteps: number, now: number, staleAfterMs: number): WorkerDto {
  const ageMs = Math.max(0, now - w.heartbeatAt);
  return {
    id: w.id,
    host: w.host,
    pid: w.pid,
    roles: w.roles,
    concurrency: w.concurrency,
    current_steps: currentSteps,
    started_at: iso(w.startedAt),
    heartbeat_at: iso(w.heartbeatAt),
    heartbeat_age_s: Math.round(ageMs / 100) / 10,
    drain_requested_at: iso(w.drainRequestedAt),
    state: ageMs > staleAfterMs ? 'stale' : w.drainRequestedAt !== null ? 'draining' : 'active',
  };
}

export const MaintenanceSchema = Type.Object(
  {
    on: Type.Boolean({ description: 'True while the deployment is in maintenance mode (see `quiesce` for which kind)' }),
    quiesce: Type.Boolean({
      description:
        'False: no worker claims a step (the API keeps answering; runs started meanwhile queue). True (quiesce): the API refuses new runs ' +
        '(503 `maintenance_quiesced`) and `/readyz` of API processes answers 503, while workers finish the runs already accepted',
    }),
    reason: Nullable(Type.String()),
    since: Nullable(Time),
    by: Nullable(Type.String({ description: 'Who turned it on' })),
  },
  { title: 'Maintenance' },
);
export type MaintenanceDto = Static<typeof MaintenanceSchema>;

export function maintenanceDto(m: MaintenanceRecord | null): MaintenanceDto {
  if (m === null) return { on: false, quiesce: false, reason: null, since: null, by: null };
  return { on: true, quiesce: m.quiesce, reason: m.reason, since: iso(m.startedAt), by: m.startedBy };
}
