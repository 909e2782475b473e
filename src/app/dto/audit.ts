/** What the API returns for the audit log (`/v1/audit`), and the record → DTO mapping. */
import { Type, type Static } from 'typebox';
import { AUDIT_OUTCOMES, type AuditRecord } from '../../types.js';
import { iso, Nullable, Time } from './common.js';

export const AuditEntrySchema = Type.Object(
  {
    seq: Type.Integer({ description: 'Position in the hash chain' }),
    id: Type.String(),
    at: Time,
    tenant_id: Nullable(Type.String()),
    principal: Type.String({ description: "The key's name, the CLI's user, or system" }),
    action: Type.String({ description: 'run.start, run.cancel, task.decide, schedule.pause, tool.disable, store.migrate, …' }),
    target: Nullable(Type.String({ description: 'run:<id>, task:<id>, schedule:<workflow>, tool:<server>, …' })),
    request_id: Nullable(Type.String()),
    outcome: Type.Enum([...AUDIT_OUTCOMES], { description: 'success; denied (refused: not found, not allowed, invalid); failure' }),
    client_ip: Nullable(Type.String()),
    details: Nullable(Type.Record(Type.String(), Type.Unknown())),
    run_id: Nullable(Type.String({ description: 'The run the entry is about: the target run:<id>, or details.run_id (a run start, a task decision)' })),
    prev_hash: Type.String({ description: 'SHA-256 (hex) of the entry before this one' }),
    hash: Type.String({ description: "SHA-256 (hex) over this entry's fields and prev_hash" }),
  },
  { title: 'AuditEntry' },
);
export type AuditEntryDto = Static<typeof AuditEntrySchema>;

export const AuditPageSchema = Type.Object({ items: Type.Array(AuditEntrySchema), next_cursor: Nullable(Type.String()) }, { title: 'AuditPage' });
export type AuditPageDto = Static<typeof AuditPageSchema>;

export function auditDto(e: AuditRecord): AuditEntryDto {
  return {
    seq: e.seq,
    id: e.id,
    at: iso(e.at),
    tenant_id: e.tenantId,
    principal: e.principal,
    action: e.action,
    target: e.target,
    request_id: e.requestId,
    outcome: e.outcome,
    client_ip: e.clientIp,
    details: e.details,
    run_id: e.runId,
    prev_hash: e.prevHash,
    hash: e.hash,
  };
}
