/** What `GET /v1/admin/status` returns: the answering process, its readiness, the workers and the queue, in one answer. */
import { Type, type Static } from 'typebox';
import { AdminInfoSchema } from './admin.js';
import { WorkerSchema } from './fleet.js';
import { Nullable, Time } from './common.js';

const CheckSchema = Type.Object(
  {
    name: Type.String({ description: 'The check, as `/readyz` names it: `database`, `migrations`, `workers`, `gateway`, …' }),
    status: Type.Enum(['ok', 'fail']),
    detail: Type.String({ description: 'One line: what was found, or what is wrong (never a secret’s value)' }),
  },
  { title: 'StatusCheck' },
);

const Counts = Type.Record(Type.String(), Type.Integer(), { description: 'By status; a status with none is absent' });

export const StatusSchema = Type.Object(
  {
    process: AdminInfoSchema,
    ready: Type.Boolean({ description: 'Every readiness check of the answering process’s roles passed (what `/readyz` answers)' }),
    checks: Type.Array(CheckSchema, { description: 'The readiness checks of the answering process’s roles, in `/readyz` order' }),
    maintenance: Nullable(Type.Boolean({ description: 'The deployment is in maintenance mode (null: not known to these roles)' })),
    workers: Type.Array(WorkerSchema, { description: 'The worker processes, as `GET /v1/admin/workers` lists them' }),
    queue: Type.Object(
      {
        due_steps: Type.Integer({ description: 'Steps due now and not claimed by a worker (`agentry_queue_depth`)' }),
        oldest_due_at: Nullable(Time),
        runs: Counts,
        steps: Counts,
      },
      { description: 'Queue depth: due unclaimed steps, and every run and step by status, across tenants' },
    ),
  },
  { title: 'Status' },
);
export type StatusDto = Static<typeof StatusSchema>;
