/**
 * The audit log's hash chain. Each entry's `hash` is SHA-256 over a canonical JSON of its
 * fields (keys sorted, no whitespace) together with `prevHash`, the hash of the entry before
 * it; the first entry chains to `GENESIS_HASH`. Editing an entry changes its hash; deleting or
 * reordering entries breaks the next entry's `prevHash`; deleting the newest entries leaves
 * the head row (`audit_head`) pointing past the end. `ChainCheck` finds the first of these.
 */
import { createHash } from 'node:crypto';
import type { AuditRecord } from '../types.js';
import type { AuditHead } from './store-types.js';

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every depth: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/**
 * The run an entry is about: the target's id when it is `run:<id>`, else `details.run_id` (a
 * run start names its workflow as target, a task decision its task). Stored as `run_id` so
 * entries can be listed by run; not hashed, since it follows from what is.
 */
export function auditRunId(entry: Pick<AuditRecord, 'target' | 'details'>): string | null {
  if (entry.target?.startsWith('run:')) return entry.target.slice('run:'.length);
  const fromDetails = entry.details?.run_id;
  return typeof fromDetails === 'string' ? fromDetails : null;
}

/** The hash of an entry: over every field but `hash` itself, `prevHash` included. */
export function auditEntryHash(entry: Omit<AuditRecord, 'hash'>): string {
  const { seq, id, at, tenantId, principal, action, target, requestId, outcome, clientIp, details, prevHash } = entry;
  const fields = { seq, id, at, tenantId, principal, action, target, requestId, outcome, clientIp, details, prevHash };
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}

/** Where and why the chain is broken. */
export interface ChainBreak {
  /** The first entry that does not verify (the head's seq when entries after the last one are missing). */
  seq: number;
  id: string | null;
  reason: string;
}

/**
 * Checks entries fed in chain order, starting from the head's anchor (the last pruned entry,
 * or genesis), and at the end against the head. Stops at the first break.
 */
export class ChainCheck {
  private expectedSeq: number;
  private prevHash: string;
  private checked = 0;
  broken: ChainBreak | undefined;

  constructor(private readonly head: AuditHead) {
    this.expectedSeq = head.prunedSeq + 1;
    this.prevHash = head.prunedHash;
  }

  get count(): number {
    return this.checked;
  }

  /** Checks the next entry; false once the chain is broken. */
  add(entry: AuditRecord): boolean {
    if (this.broken) return false;
    const fail = (reason: string): false => {
      this.broken = { seq: entry.seq, id: entry.id, reason };
      return false;
    };
    if (entry.seq !== this.expectedSeq) {
      return fail(
        entry.seq > this.expectedSeq ? `entries ${this.expectedSeq}–${entry.seq - 1} are missing` : `entry is out of order (expected seq ${this.expectedSeq})`,
      );
    }
    if (entry.prevHash !== this.prevHash) return fail('its previous hash does not match the entry before it (an entry was deleted, inserted or reordered)');
    if (auditEntryHash(entry) !== entry.hash) return fail('its content does not match its hash (the entry was edited)');
    if (entry.runId !== auditRunId(entry)) return fail('its run_id does not match its target and details (the entry was edited)');
    this.prevHash = entry.hash;
    this.expectedSeq += 1;
    this.checked += 1;
    return true;
  }

  /** After the last entry: the head must point at it. Returns the break, if any. */
  finish(): ChainBreak | undefined {
    if (this.broken) return this.broken;
    const last = this.expectedSeq - 1;
    if (last !== this.head.seq || this.prevHash !== this.head.hash) {
      this.broken = {
        seq: Math.max(last + 1, this.head.seq),
        id: null,
        reason:
          last < this.head.seq
            ? `entries ${last + 1}–${this.head.seq} are missing (the newest were deleted)`
            : `the chain head does not match the last entry (seq ${last})`,
      };
    }
    return this.broken;
  }
}
