/**
 * The writes of a run's transaction that wait in memory until its end (or until a statement
 * that could read them): changes of the run's top-level steps and of their attempts. While
 * the run's lock is held no one else changes those rows' status, attempt or lease owner
 * (lease renewals touch only `lease_expires_at`, wake-ups only `available_at`), so a step
 * update's guard is decided against the transaction's copy of the step, exactly as the
 * database would decide it. Several changes of one row become one statement; on PostgreSQL
 * they travel in one message with the COMMIT, each as `EXECUTE` of a prepared statement
 * (postgres-deferred.ts).
 */
import type { AttemptRecord, StepRecord } from '../../types.js';
import type { AttemptPatch, StepGuard, StepPatch } from '../store-types.js';
import { insertAttemptsQuery, updateAttemptQuery } from './attempts.js';
import type { Db, SqlDialect } from './dialect.js';
import { updateStepQuery } from './steps.js';
import type { Query } from './values.js';

/** Whether `step` meets every field of `guard` (what the guarded UPDATE's WHERE would decide). */
export function guardHolds(step: StepRecord, guard: StepGuard): boolean {
  if (guard.status && !guard.status.includes(step.status)) return false;
  if (guard.attempt !== undefined && step.attempt !== guard.attempt) return false;
  if (guard.leaseOwner !== undefined && step.leaseOwner !== guard.leaseOwner) return false;
  return true;
}

const attemptKey = (stepId: string, attempt: number) => `${stepId}#${attempt}`;

interface PendingAttempt {
  insert?: AttemptRecord;
  patch?: AttemptPatch;
  stepId: string;
  attempt: number;
}

export class PendingRunWrites {
  private readonly stepPatches = new Map<string, { patch: StepPatch; updatedAt: number }>();
  private readonly attempts = new Map<string, PendingAttempt>();
  /** When each known attempt row started (read with the steps, or inserted here): what `updateAttempt` returns. */
  private readonly attemptStarts = new Map<string, number>();

  constructor(private readonly runId: string) {}

  get isEmpty(): boolean {
    return this.stepPatches.size === 0 && this.attempts.size === 0;
  }

  /** An attempt row known to exist, and when it started. */
  knowAttempt(stepId: string, attempt: number, startedAt: number): void {
    this.attemptStarts.set(attemptKey(stepId, attempt), startedAt);
  }

  updateStep(stepId: string, patch: StepPatch, updatedAt: number): void {
    const earlier = this.stepPatches.get(stepId);
    this.stepPatches.set(stepId, { patch: { ...earlier?.patch, ...patch }, updatedAt });
  }

  insertAttempt(record: AttemptRecord): void {
    const key = attemptKey(record.stepId, record.attempt);
    this.attempts.set(key, { insert: { ...record }, stepId: record.stepId, attempt: record.attempt });
    this.attemptStarts.set(key, record.startedAt);
  }

  /** Buffers `patch` of a known attempt and returns when it started; undefined when the row is not known here. */
  updateAttempt(stepId: string, attempt: number, patch: AttemptPatch): number | undefined {
    const key = attemptKey(stepId, attempt);
    const startedAt = this.attemptStarts.get(key);
    if (startedAt === undefined) return undefined;
    const pending = this.attempts.get(key) ?? { stepId, attempt };
    const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as AttemptPatch;
    if (pending.insert) pending.insert = { ...pending.insert, ...defined };
    else pending.patch = { ...pending.patch, ...defined };
    this.attempts.set(key, pending);
    return startedAt;
  }

  /** The statements that write what is pending (and forgets it). */
  take(): Query[] {
    const { updates, inserts } = this.takeParts();
    if (inserts.length > 0) updates.push(insertAttemptsQuery(inserts));
    return updates;
  }

  /**
   * What is pending (and forgets it): the statements that update rows, and the attempt rows to
   * insert (so that a transaction holding several runs can insert all of theirs with one statement).
   */
  takeParts(): { updates: Query[]; inserts: AttemptRecord[] } {
    const updates: Query[] = [];
    const inserts: AttemptRecord[] = [];
    for (const [stepId, { patch, updatedAt }] of this.stepPatches) updates.push(updateStepQuery(this.runId, stepId, patch, {}, updatedAt));
    for (const pending of this.attempts.values()) {
      if (pending.insert) inserts.push(pending.insert);
      else if (pending.patch && Object.keys(pending.patch).length > 0) {
        updates.push(updateAttemptQuery(this.runId, pending.stepId, pending.attempt, pending.patch));
      }
    }
    this.stepPatches.clear();
    this.attempts.clear();
    return { updates, inserts };
  }
}

/** Runs `queries` (rows of different keys) the dialect's way, or one by one. */
export async function writeAll(db: Db, queries: readonly Query[], dialect: SqlDialect): Promise<void> {
  if (queries.length === 0) return;
  if (dialect.writeBatch) return dialect.writeBatch(db, queries);
  for (const query of queries) await query.execute(db);
}
