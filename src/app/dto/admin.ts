/** What the API returns for the deployment's administration: `GET /v1/admin/info` and `POST /v1/admin/sweep`. */
import { Type, type Static } from 'typebox';
import type { SweepReport } from '../../engine/scheduler.js';
import { Time } from './common.js';

const StoreInfoSchema = Type.Object(
  {
    kind: Type.Enum(['sqlite', 'postgres'], { description: 'The database engine' }),
    location: Type.String({ description: 'Where the database is: `sqlite:<file>`, or the PostgreSQL URL without its password or query' }),
    schema_version: Type.Integer({ description: 'The highest migration applied to the database' }),
    latest: Type.Integer({ description: 'The highest migration this build has' }),
  },
  { title: 'StoreInfo' },
);

export const AdminInfoSchema = Type.Object(
  {
    version: Type.String({ description: 'Agentry’s version' }),
    node: Type.String({ description: 'The Node.js version the process runs on' }),
    store: StoreInfoSchema,
    roles: Type.Array(Type.String(), { description: 'What the answering process runs: `api`, `worker`, `scheduler`, `gateway` (none: the CLI on the store)' }),
    tenancy: Type.Object({
      mode: Type.Enum(['single', 'multi'], { description: '`AGENTRY_TENANCY`' }),
      tenant: Type.String({ description: 'The deployment’s tenant (`AGENTRY_TENANT`)' }),
    }),
    started_at: Time,
    uptime_s: Type.Number({ description: 'Seconds since the answering process started' }),
  },
  { title: 'AdminInfo' },
);
export type AdminInfoDto = Static<typeof AdminInfoSchema>;

const Counts = Type.Record(Type.String(), Type.Number());

export const SweepSchema = Type.Object(
  {
    leases_expired: Type.Integer({ description: 'Attempts whose lease had lapsed: re-queued or failed `lease_expired`' }),
    runs_timed_out: Type.Integer({ description: 'Runs past their deadline, ended `timed_out`' }),
    tasks_overdue: Type.Integer({ description: 'Human tasks past their deadline: expired (or escalated, as their step says)' }),
    schedules: Type.Union([Type.Object({ started: Type.Integer(), skipped: Type.Integer() }), Type.Null()], {
      description: 'Schedule ticks handled: runs started, ticks skipped (null: the process knows no workflows)',
    }),
    maintenance: Type.Array(
      Type.Object({
        task: Type.String({ description: '`run retention`, `audit retention`' }),
        counts: Type.Union([Counts, Type.Null()], { description: 'What it deleted, e.g. `{ "runs": 3, "events": 120, "idempotency_keys": 0 }`' }),
        error: Type.Union([Type.String(), Type.Null()]),
      }),
      { description: 'The maintenance tasks configured (retention); each ran now' },
    ),
  },
  { title: 'Sweep' },
);
export type SweepDto = Static<typeof SweepSchema>;

export function sweepDto(report: SweepReport): SweepDto {
  return {
    leases_expired: report.expired,
    runs_timed_out: report.timedOut,
    tasks_overdue: report.tasksDue,
    schedules: report.schedules ? { started: report.schedules.fired.filter((t) => t.created).length, skipped: report.schedules.skipped.length } : null,
    maintenance: report.maintenance.map((m) => ({ task: m.task, counts: m.counts ? { ...m.counts } : null, error: m.error ?? null })),
  };
}
