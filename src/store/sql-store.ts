/**
 * The Store over SQL, shared by both dialects. Dialect differences (how a write
 * transaction starts, how a row is locked, how migrations are serialised) live in
 * `SqlDialect`; every statement here is plain SQL valid in SQLite and PostgreSQL.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type {
  AttemptKey,
  AttemptRecord,
  EventRecord,
  EventType,
  RunRecord,
  ScheduleRecord,
  SignalRecord,
  StepRecord,
  StepStatus,
  TaskRecord,
  TaskStatus,
} from '../types.js';
import { isItemStepId, itemStepId } from '../types.js';
import type { ErrorInfo } from '../lib/errors.js';
import { AgentryError } from '../lib/errors.js';
import { runMigrations, readSchemaState } from './migrate.js';
import {
  ATTEMPT_COLUMNS,
  RUN_COLUMNS,
  STEP_COLUMNS,
  attemptFromRow,
  eventFromRow,
  runFromRow,
  scheduleFromRow,
  signalFromRow,
  stepFromRow,
  taskFromRow,
  TASK_COLUMNS,
  fromJson,
  toJson,
  workerFromRow,
  type Row,
} from './rows.js';
import { IdempotencyKeyUsed } from './store.js';
import type { CallRecord, JournalEntry, Spend, SpendQuery } from '../types.js';
import {
  insertCall,
  insertJournal,
  journalFromRow,
  journalQuery,
  spendFromRows,
  spendQuery,
  usageFromRow,
  usageQuery,
} from './sql-usage.js';
import { isCommitUnknown, isTransient, storeUnavailable, withRetry, type RetryOptions } from './transient.js';
import type {
  UsageQuery,
  UsageRow,
  AttemptPatch,
  IdempotencyClaim,
  IdempotencyRecord,
  DueStep,
  ExpiredLease,
  ItemResult,
  TaskListQuery,
  TaskLockResult,
  TaskPage,
  TaskPatch,
  MigrationReport,
  NewRun,
  NewStep,
  RunListQuery,
  RunPage,
  RunPatch,
  RunTx,
  SchemaState,
  StepGuard,
  StepPatch,
  Store,
  StoreKind,
  WithRunOptions,
  WorkerInfo,
} from './store.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- raw SQL only; no typed tables
export type Db = Kysely<{}>;

export interface SqlDialect {
  readonly kind: StoreKind;
  /**
   * Runs `fn` in a write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN) on one
   * connection. A failure while COMMIT is in flight is thrown as `commitUnknown`.
   */
  transaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T>;
  /** Appended to the SELECT that locks a run row (`FOR UPDATE` on PostgreSQL). */
  readonly lockSuffix: string;
  /** Appended instead when the caller will not wait for it (`FOR UPDATE SKIP LOCKED`). */
  readonly skipLockedSuffix: string;
  /** Takes a lock on `key` held until the transaction ends; absent where writers are serialised (SQLite). */
  readonly keyLock?: (key: string) => RawBuilder<unknown>;
  /** How statements and transactions that fail transiently are retried (none: one try). */
  readonly retry?: Pick<RetryOptions, 'attempts' | 'baseMs' | 'maxMs'>;
  /**
   * Serialises migrations across processes (advisory lock on PostgreSQL); `fn` gets the
   * connection to run them on (each migration still in its own transaction).
   */
  withMigrationLock<T>(db: Db, fn: (conn: Db) => Promise<T>): Promise<T>;
  /** One statement for the whole batch, where the dialect can (`unnest` on PostgreSQL). */
  renewLeases?(db: Db, workerId: string, keys: AttemptKey[], expiresAt: number): Promise<AttemptKey[]>;
  publishWake(db: Db): Promise<void>;
  subscribeWake(fn: () => void): () => void;
  close(db: Db): Promise<void>;
}

async function rows(query: RawBuilder<unknown>, db: Db): Promise<Row[]> {
  const result = await query.execute(db);
  return result.rows as Row[];
}

function assignments(
  patch: Record<string, unknown>,
  columns: Record<string, readonly [string, boolean]>,
): RawBuilder<unknown>[] {
  const parts: RawBuilder<unknown>[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (value === undefined) continue;
    const column = columns[key];
    if (!column) throw new AgentryError('internal', `unknown column for ${key}`);
    const [name, isJson] = column;
    parts.push(sql`${sql.ref(name)} = ${isJson ? toJson(value) : value}`);
  }
  return parts;
}

class SqlRunTx implements RunTx {
  /** Events appended in this transaction, written together by `flush`. */
  private readonly events: EventRecord[] = [];
  /** Changes of the run row made in this transaction, written together by `flush`. */
  private runPatch: RunPatch | undefined;

  /**
   * @param cached The run's steps when the caller knows them (a run just inserted). They
   * are read once per transaction and then kept up to date in memory: while the run's lock
   * is held no one else changes them (lease renewals touch only `lease_expires_at`).
   */
  /** Other runs changed in this transaction (children created or cancelled), flushed with it. */
  private readonly others: SqlRunTx[] = [];

  constructor(
    private readonly trx: Db,
    public run: RunRecord,
    private readonly now: () => number,
    private readonly dialect: SqlDialect,
    private cached?: StepRecord[],
  ) {}

  /**
   * Writes what this transaction kept in memory: its events (one multi-row INSERT) and the
   * run's changes with its event counter (one UPDATE). Nothing inside a transition reads
   * them back from the database, so they need not be written earlier.
   */
  async flush(): Promise<void> {
    for (const other of this.others.splice(0)) await other.flush();
    if (this.events.length > 0) {
      const values = this.events.map((e) => sql`(${e.runId}, ${e.seq}, ${e.type}, ${e.stepId}, ${JSON.stringify(e.data)}, ${e.at})`);
      await sql`INSERT INTO events (run_id, seq, type, step_id, data, at) VALUES ${sql.join(values)}`.execute(this.trx);
      this.events.length = 0;
    }
    const patch = this.runPatch;
    if (patch === undefined) return;
    this.runPatch = undefined;
    const sets = assignments(patch, RUN_COLUMNS);
    sets.push(sql`event_seq = ${this.run.eventSeq}`);
    if (Object.keys(patch).length > 0) sets.push(sql`updated_at = ${this.run.updatedAt}`);
    await sql`UPDATE runs SET ${sql.join(sets)} WHERE id = ${this.run.id}`.execute(this.trx);
  }

  async steps(): Promise<StepRecord[]> {
    if (!this.cached) {
      const result = await rows(
        sql`SELECT * FROM steps WHERE run_id = ${this.run.id} AND parent_step IS NULL ORDER BY step_id`,
        this.trx,
      );
      this.cached = result.map(stepFromRow);
    }
    return [...this.cached];
  }

  updateRun(patch: RunPatch): Promise<void> {
    this.runPatch = { ...this.runPatch, ...patch };
    this.run = { ...this.run, ...patch, updatedAt: this.now() };
    return Promise.resolve();
  }

  async updateStep(stepId: string, patch: StepPatch, guard: StepGuard = {}): Promise<boolean> {
    const sets = assignments(patch, STEP_COLUMNS);
    const conditions: RawBuilder<unknown>[] = [sql`run_id = ${this.run.id}`, sql`step_id = ${stepId}`];
    if (guard.status) conditions.push(sql`status IN (${sql.join(guard.status.map((s) => sql`${s}`))})`);
    if (guard.attempt !== undefined) conditions.push(sql`attempt = ${guard.attempt}`);
    if (guard.leaseOwner !== undefined) conditions.push(sql`lease_owner = ${guard.leaseOwner}`);
    const updatedAt = this.now();
    const result = await sql`UPDATE steps SET ${sql.join([...sets, sql`updated_at = ${updatedAt}`])}
      WHERE ${sql.join(conditions, sql` AND `)}`.execute(this.trx);
    const applied = Number(result.numAffectedRows ?? 0) > 0;
    const at = this.cached?.findIndex((step) => step.stepId === stepId) ?? -1;
    if (applied && at >= 0) {
      const defined = Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined));
      this.cached![at] = { ...this.cached![at]!, ...defined, updatedAt };
    }
    return applied;
  }

  async insertAttempt(a: AttemptRecord): Promise<void> {
    await sql`INSERT INTO attempts (run_id, step_id, attempt, status, worker_id, input, output, error, started_at, finished_at)
      VALUES (${a.runId}, ${a.stepId}, ${a.attempt}, ${a.status}, ${a.workerId}, ${toJson(a.input)}, ${toJson(a.output)},
              ${toJson(a.error)}, ${a.startedAt}, ${a.finishedAt})`.execute(this.trx);
  }

  async updateAttempt(stepId: string, attempt: number, patch: AttemptPatch): Promise<void> {
    const sets = assignments(patch, ATTEMPT_COLUMNS);
    if (sets.length === 0) return;
    await sql`UPDATE attempts SET ${sql.join(sets)}
      WHERE run_id = ${this.run.id} AND step_id = ${stepId} AND attempt = ${attempt}`.execute(this.trx);
  }

  appendEvent(type: EventType, data: Record<string, unknown> = {}, stepId: string | null = null): Promise<EventRecord> {
    const event: EventRecord = { runId: this.run.id, seq: this.run.eventSeq + 1, type, stepId, data, at: this.now() };
    this.events.push(event);
    this.run = { ...this.run, eventSeq: event.seq };
    this.runPatch ??= {};
    return Promise.resolve(event);
  }

  async insertItems(parent: string, kind: string, items: unknown[]): Promise<void> {
    const now = this.now();
    const CHUNK = 200;
    for (let start = 0; start < items.length; start += CHUNK) {
      const values = items.slice(start, start + CHUNK).map(
        (item, i) =>
          sql`(${this.run.id}, ${itemStepId(parent, start + i)}, ${kind}, 'pending', 0, ${this.run.priority}, ${now},
               ${parent}, ${start + i}, ${JSON.stringify(item ?? null)})`,
      );
      await sql`INSERT INTO steps (run_id, step_id, kind, status, attempt, priority, updated_at, parent_step, item_index, item)
        VALUES ${sql.join(values)}`.execute(this.trx);
    }
  }

  async step(stepId: string): Promise<StepRecord | undefined> {
    // A top-level step comes from the run's steps (read once per transaction; the caller
    // usually needs them all anyway); only a map item is read on its own.
    if (!isItemStepId(stepId)) return (await this.steps()).find((s) => s.stepId === stepId);
    const [row] = await rows(sql`SELECT * FROM steps WHERE run_id = ${this.run.id} AND step_id = ${stepId}`, this.trx);
    return row ? stepFromRow(row) : undefined;
  }

  async itemCounts(parent: string): Promise<Partial<Record<StepStatus, number>>> {
    const result = await rows(
      sql`SELECT status, COUNT(*) AS n FROM steps WHERE run_id = ${this.run.id} AND parent_step = ${parent} GROUP BY status`,
      this.trx,
    );
    return Object.fromEntries(result.map((r) => [r.status as StepStatus, Number(r.n)]));
  }

  async pendingItems(parent: string, limit: number): Promise<StepRecord[]> {
    if (limit <= 0) return [];
    const result = await rows(
      sql`SELECT * FROM steps WHERE run_id = ${this.run.id} AND parent_step = ${parent} AND status = 'pending'
          ORDER BY item_index LIMIT ${limit}`,
      this.trx,
    );
    return result.map(stepFromRow);
  }

  async itemResults(parent: string): Promise<ItemResult[]> {
    const result = await rows(
      sql`SELECT item_index, status, output, error FROM steps WHERE run_id = ${this.run.id} AND parent_step = ${parent}
          ORDER BY item_index`,
      this.trx,
    );
    return result.map((r) => ({
      index: Number(r.item_index),
      status: r.status as StepStatus,
      output: fromJson(r.output),
      error: fromJson<ErrorInfo | null>(r.error),
    }));
  }

  async cancelItems(parent: string | undefined, finishedAt: number): Promise<StepRecord[]> {
    const scope = parent === undefined ? sql`parent_step IS NOT NULL` : sql`parent_step = ${parent}`;
    const running = await rows(
      sql`SELECT * FROM steps WHERE run_id = ${this.run.id} AND ${scope} AND status IN ('running', 'waiting')`,
      this.trx,
    );
    await sql`UPDATE steps SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, finished_at = ${finishedAt},
                               updated_at = ${finishedAt}
      WHERE run_id = ${this.run.id} AND ${scope} AND status IN ('pending', 'queued', 'running', 'waiting')`.execute(this.trx);
    return running.map(stepFromRow);
  }

  async recordIdempotencyKey(key: string, requestHash: string): Promise<void> {
    await sql`INSERT INTO idempotency_keys (tenant_id, key, request_hash, run_id, created_at)
      VALUES (${this.run.tenantId}, ${key}, ${requestHash}, ${this.run.id}, ${this.now()})`.execute(this.trx);
  }

  async insertTask(t: TaskRecord): Promise<void> {
    await sql`INSERT INTO tasks (id, tenant_id, run_id, step_id, workflow, kind, status, title, instructions, form_schema, role,
                                 assignees, context, due_at, escalations, decision, response, comment, decided_by, decided_at,
                                 created_at, updated_at)
      VALUES (${t.id}, ${t.tenantId}, ${t.runId}, ${t.stepId}, ${t.workflow}, ${t.kind}, ${t.status}, ${t.title}, ${t.instructions},
              ${toJson(t.formSchema)}, ${t.role}, ${toJson(t.assignees)}, ${toJson(t.context)}, ${t.dueAt}, ${t.escalations},
              ${t.decision}, ${toJson(t.response)}, ${t.comment}, ${t.decidedBy}, ${t.decidedAt}, ${t.createdAt}, ${t.updatedAt})`.execute(
      this.trx,
    );
  }

  async updateTask(id: string, patch: TaskPatch, statuses?: readonly TaskStatus[]): Promise<boolean> {
    const sets = assignments(patch, TASK_COLUMNS);
    // A decision applied or a status changed ends any resume lock.
    sets.push(sql`updated_at = ${this.now()}`, sql`lock_owner = NULL`, sql`lock_until = NULL`);
    const guard = statuses ? sql`AND status IN (${sql.join(statuses.map((st) => sql`${st}`))})` : sql``;
    const result = await sql`UPDATE tasks SET ${sql.join(sets)} WHERE id = ${id} AND run_id = ${this.run.id} ${guard}`.execute(this.trx);
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  async task(id: string): Promise<TaskRecord | undefined> {
    const [row] = await rows(sql`SELECT * FROM tasks WHERE id = ${id} AND run_id = ${this.run.id}`, this.trx);
    return row ? taskFromRow(row) : undefined;
  }

  async openTasks(stepId?: string): Promise<TaskRecord[]> {
    const byStep = stepId === undefined ? sql`` : sql`AND step_id = ${stepId}`;
    const result = await rows(
      sql`SELECT * FROM tasks WHERE run_id = ${this.run.id} AND status = 'open' ${byStep} ORDER BY created_at, id`,
      this.trx,
    );
    return result.map(taskFromRow);
  }

  async insertSignal(name: string, payload: unknown): Promise<SignalRecord | undefined> {
    const existing = await this.signal(name);
    if (existing) return existing;
    await sql`INSERT INTO signals (run_id, name, payload, received_at)
      VALUES (${this.run.id}, ${name}, ${JSON.stringify(payload ?? null)}, ${this.now()})`.execute(this.trx);
    return undefined;
  }

  async signal(name: string): Promise<SignalRecord | undefined> {
    const [row] = await rows(sql`SELECT * FROM signals WHERE run_id = ${this.run.id} AND name = ${name}`, this.trx);
    return row ? signalFromRow(row) : undefined;
  }

  async createRun(run: NewRun, steps: NewStep[]): Promise<RunTx> {
    const child = new SqlRunTx(this.trx, await insertRun(this.trx, run, steps, this.now()), this.now, this.dialect, newStepRecords(steps, this.now()));
    this.others.push(child);
    return child;
  }

  async lockRun(runId: string): Promise<RunTx | undefined> {
    const [row] = await rows(sql`SELECT * FROM runs WHERE id = ${runId} ${sql.raw(this.dialect.lockSuffix)}`, this.trx);
    if (!row) return undefined;
    const other = new SqlRunTx(this.trx, runFromRow(row), this.now, this.dialect);
    this.others.push(other);
    return other;
  }

  async childRuns(): Promise<RunRecord[]> {
    return (await rows(sql`SELECT * FROM runs WHERE parent_run_id = ${this.run.id} ORDER BY created_at, id`, this.trx)).map(runFromRow);
  }

  async wakeStep(runId: string, stepId: string): Promise<void> {
    const now = this.now();
    await sql`UPDATE steps SET available_at = ${now}, updated_at = ${now}
      WHERE run_id = ${runId} AND step_id = ${stepId} AND status = 'waiting'`.execute(this.trx);
  }

  async lockKey(key: string): Promise<void> {
    if (this.dialect.keyLock) await this.dialect.keyLock(key).execute(this.trx);
  }

  async countActive(key: string): Promise<number> {
    const [row] = await rows(
      sql`SELECT COUNT(*) AS n FROM runs WHERE concurrency_key = ${key} AND status IN ('running', 'waiting')`,
      this.trx,
    );
    return Number(row?.n ?? 0);
  }

  async wakeBlocked(key: string, limit: number): Promise<void> {
    const now = this.now();
    await sql`UPDATE steps SET available_at = ${now}, updated_at = ${now}
      WHERE status = 'queued' AND available_at > ${now} AND run_id IN (
        SELECT id FROM runs WHERE concurrency_key = ${key} AND status = 'queued' AND id <> ${this.run.id}
        ORDER BY priority DESC, created_at, id LIMIT ${limit})`.execute(this.trx);
  }
}

function newStepRecords(steps: NewStep[], now: number): StepRecord[] {
  return steps
    .map((step) => ({
      attempt: 0,
      availableAt: null,
      leaseOwner: null,
      leaseExpiresAt: null,
      input: null,
      output: null,
      error: null,
      state: null,
      meta: null,
      parentStep: null,
      itemIndex: null,
      item: null,
      startedAt: null,
      finishedAt: null,
      ...step,
      updatedAt: now,
    }))
    .sort((a, b) => (a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0));
}

async function insertRun(trx: Db, run: NewRun, steps: NewStep[], now: number): Promise<RunRecord> {
  await sql`INSERT INTO runs (id, tenant_id, workflow, spec_hash, spec, status, input, output, error, priority,
                              created_at, started_at, finished_at, deadline_at, parent_run_id, parent_step_id, retry_of,
                              concurrency_key, updated_at, event_seq)
    VALUES (${run.id}, ${run.tenantId}, ${run.workflow}, ${run.specHash}, ${JSON.stringify(run.spec)}, ${run.status},
            ${JSON.stringify(run.input ?? null)}, ${toJson(run.output)}, ${toJson(run.error)}, ${run.priority},
            ${run.createdAt}, ${run.startedAt}, ${run.finishedAt}, ${run.deadlineAt}, ${run.parentRunId}, ${run.parentStepId},
            ${run.retryOf}, ${run.concurrencyKey}, ${now}, 0)`.execute(trx);
  if (steps.length > 0) {
    const values = steps.map(
      (step) =>
        sql`(${step.runId}, ${step.stepId}, ${step.kind}, ${step.status}, 0, ${run.priority}, ${toJson(step.output ?? null)},
             ${toJson(step.meta ?? null)}, ${step.startedAt ?? null}, ${step.finishedAt ?? null}, ${now})`,
    );
    await sql`INSERT INTO steps (run_id, step_id, kind, status, attempt, priority, output, meta, started_at, finished_at, updated_at)
      VALUES ${sql.join(values)}`.execute(trx);
  }
  return { ...run, updatedAt: now, eventSeq: 0 };
}

function encodeCursor(row: { createdAt: number; id: string }): string {
  return Buffer.from(`${row.createdAt}:${row.id}`).toString('base64url');
}

function decodeCursor(cursor: string): { createdAt: number; id: string } {
  const text = Buffer.from(cursor, 'base64url').toString();
  const at = text.indexOf(':');
  const createdAt = Number(text.slice(0, at));
  if (at <= 0 || !Number.isSafeInteger(createdAt)) throw new AgentryError('invalid_request', 'cursor is not valid');
  return { createdAt, id: text.slice(at + 1) };
}

/** A unique violation of the idempotency key (another start with the same key committed first). */
function isIdempotencyKeyConflict(error: unknown): boolean {
  const e = error as { code?: unknown; table?: unknown; message?: unknown } | null;
  if (e?.code === '23505') return e.table === 'idempotency_keys';
  return typeof e?.code === 'string' && e.code.startsWith('SQLITE_CONSTRAINT') && String(e.message).includes('idempotency_keys');
}

export class SqlStore implements Store {
  readonly kind: StoreKind;
  private readonly retryOptions: RetryOptions;

  constructor(
    private readonly db: Db,
    private readonly dialect: SqlDialect,
    readonly location: string,
    private readonly now: () => number = Date.now,
  ) {
    this.kind = dialect.kind;
    this.retryOptions = {
      ...(dialect.retry ?? { attempts: 1, baseMs: 0, maxMs: 0 }),
      // A transaction whose COMMIT was cut off may have been applied: not ours to repeat.
      retryIf: (error) => isTransient(error) && !isCommitUnknown(error),
    };
  }

  /** Runs `fn` with the dialect's retries; a transient failure that outlasts them is `store_unavailable`. */
  private async retrying<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(fn, this.retryOptions);
    } catch (error) {
      throw isTransient(error) ? storeUnavailable(error, this.location.replace(/^[a-z]+:/, '')) : error;
    }
  }

  private read(query: RawBuilder<unknown>): Promise<Row[]> {
    return this.retrying(() => rows(query, this.db));
  }

  private transact<T>(fn: (trx: Db) => Promise<T>): Promise<T> {
    return this.retrying(() => this.dialect.transaction(this.db, fn));
  }

  migrate(): Promise<MigrationReport> {
    return runMigrations(this.db, this.dialect);
  }

  schemaState(): Promise<SchemaState> {
    return readSchemaState(this.db);
  }

  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  close(): Promise<void> {
    return this.dialect.close(this.db);
  }

  async createRun<T>(run: NewRun, steps: NewStep[], fn: (tx: RunTx) => Promise<T>, idempotency?: IdempotencyClaim): Promise<T> {
    try {
      return await this.transact(async (trx) => {
        const now = this.now();
        if (idempotency) {
          const existing = await this.readIdempotencyKey(trx, run.tenantId, idempotency.key);
          if (existing) throw new IdempotencyKeyUsed(existing);
        }
        const inserted = await insertRun(trx, run, steps, now);
        if (idempotency) {
          await sql`INSERT INTO idempotency_keys (tenant_id, key, request_hash, run_id, created_at)
            VALUES (${run.tenantId}, ${idempotency.key}, ${idempotency.requestHash}, ${run.id}, ${now})`.execute(trx);
        }
        const tx = new SqlRunTx(trx, inserted, this.now, this.dialect, newStepRecords(steps, now));
        const result = await fn(tx);
        await tx.flush();
        return result;
      });
    } catch (error) {
      // Another start with the same key committed between our check and our insert; the
      // transaction rolled back, so read what the winner recorded.
      if (idempotency && isIdempotencyKeyConflict(error)) {
        const existing = await this.findIdempotencyKey(run.tenantId, idempotency.key);
        if (existing) throw new IdempotencyKeyUsed(existing);
      }
      throw error;
    }
  }

  findIdempotencyKey(tenantId: string, key: string): Promise<IdempotencyRecord | undefined> {
    return this.retrying(() => this.readIdempotencyKey(this.db, tenantId, key));
  }

  private async readIdempotencyKey(db: Db, tenantId: string, key: string): Promise<IdempotencyRecord | undefined> {
    const [row] = await rows(sql`SELECT * FROM idempotency_keys WHERE tenant_id = ${tenantId} AND key = ${key}`, db);
    if (!row) return undefined;
    return {
      tenantId: row.tenant_id as string,
      key: row.key as string,
      requestHash: row.request_hash as string,
      runId: row.run_id as string,
      createdAt: Number(row.created_at),
    };
  }

  async withRun<T>(runId: string, fn: (tx: RunTx) => Promise<T>, options: WithRunOptions = {}): Promise<T | undefined> {
    const lock = options.skipLocked ? this.dialect.skipLockedSuffix : this.dialect.lockSuffix;
    return this.transact(async (trx) => {
      const found = await rows(sql`SELECT * FROM runs WHERE id = ${runId} ${sql.raw(lock)}`, trx);
      const row = found[0];
      if (!row) return undefined;
      const tx = new SqlRunTx(trx, runFromRow(row), this.now, this.dialect);
      const result = await fn(tx);
      await tx.flush();
      return result;
    });
  }

  async dueSteps(now: number, limit: number): Promise<DueStep[]> {
    const result = await this.read(
      sql`SELECT run_id, step_id, priority FROM steps
          WHERE status IN ('queued', 'waiting') AND available_at <= ${now}
          ORDER BY priority DESC, available_at
          LIMIT ${limit}`,
    );
    return result.map((r) => ({ runId: r.run_id as string, stepId: r.step_id as string, priority: Number(r.priority) }));
  }

  async nextDueAt(): Promise<number | null> {
    const result = await this.read(
      sql`SELECT available_at AS due FROM steps WHERE status IN ('queued', 'waiting') AND available_at IS NOT NULL
          ORDER BY available_at LIMIT 1`,
    );
    const due = result[0]?.due;
    return due === null || due === undefined ? null : Number(due);
  }

  async renewLeases(workerId: string, keys: AttemptKey[], expiresAt: number): Promise<AttemptKey[]> {
    if (keys.length === 0) return [];
    const dialect = this.dialect;
    if (dialect.renewLeases) return this.retrying(() => dialect.renewLeases!(this.db, workerId, keys, expiresAt));
    return this.transact(async (trx) => {
      const held: AttemptKey[] = [];
      for (const key of keys) {
        const result = await sql`UPDATE steps SET lease_expires_at = ${expiresAt}
          WHERE run_id = ${key.runId} AND step_id = ${key.stepId} AND attempt = ${key.attempt}
            AND status = 'running' AND lease_owner = ${workerId}`.execute(trx);
        if (Number(result.numAffectedRows ?? 0) > 0) held.push(key);
      }
      return held;
    });
  }

  async expiredLeases(now: number, limit: number): Promise<ExpiredLease[]> {
    const result = await this.read(
      sql`SELECT run_id, step_id, attempt, lease_owner FROM steps
          WHERE status = 'running' AND lease_expires_at < ${now}
          ORDER BY lease_expires_at LIMIT ${limit}`,
    );
    return result.map((r) => ({
      runId: r.run_id as string,
      stepId: r.step_id as string,
      attempt: Number(r.attempt),
      leaseOwner: r.lease_owner as string,
    }));
  }

  async leasesOf(workerId: string): Promise<AttemptKey[]> {
    const result = await this.read(
      sql`SELECT run_id, step_id, attempt FROM steps WHERE status = 'running' AND lease_owner = ${workerId}`,
    );
    return result.map((r) => ({ runId: r.run_id as string, stepId: r.step_id as string, attempt: Number(r.attempt) }));
  }

  async overdueRuns(now: number, limit: number): Promise<string[]> {
    const result = await this.read(
      sql`SELECT id FROM runs
          WHERE deadline_at IS NOT NULL AND deadline_at < ${now} AND status IN ('queued', 'running', 'waiting')
          ORDER BY deadline_at LIMIT ${limit}`,
    );
    return result.map((r) => r.id as string);
  }

  publishWake(): Promise<void> {
    return this.dialect.publishWake(this.db);
  }

  subscribeWake(fn: () => void): () => void {
    return this.dialect.subscribeWake(fn);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const result = await this.read(sql`SELECT * FROM runs WHERE id = ${id}`);
    return result[0] ? runFromRow(result[0]) : undefined;
  }

  async listRuns(query: RunListQuery): Promise<RunPage> {
    const where: RawBuilder<unknown>[] = [sql`tenant_id = ${query.tenantId ?? 'default'}`];
    if (query.status?.length) where.push(sql`status IN (${sql.join(query.status.map((s) => sql`${s}`))})`);
    if (query.workflow) where.push(sql`workflow = ${query.workflow}`);
    if (query.createdAfter !== undefined) where.push(sql`created_at >= ${query.createdAfter}`);
    if (query.createdBefore !== undefined) where.push(sql`created_at < ${query.createdBefore}`);
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      // A row comparison, so that the (created_at DESC, id DESC) indexes bound the scan.
      where.push(sql`(created_at, id) < (${c.createdAt}, ${c.id})`);
    }
    const result = await this.read(
      sql`SELECT * FROM runs WHERE ${sql.join(where, sql` AND `)}
          ORDER BY created_at DESC, id DESC LIMIT ${query.limit + 1}`,
    );
    const items = result.slice(0, query.limit).map(runFromRow);
    const last = items[items.length - 1];
    return { items, nextCursor: result.length > query.limit && last ? encodeCursor(last) : null };
  }

  async getSteps(runId: string): Promise<StepRecord[]> {
    const result = await this.read(sql`SELECT * FROM steps WHERE run_id = ${runId} AND parent_step IS NULL ORDER BY step_id`);
    return result.map(stepFromRow);
  }

  async listItems(runId: string, parent: string, page?: { offset: number; limit: number }): Promise<StepRecord[]> {
    const window = page ? sql`LIMIT ${page.limit} OFFSET ${page.offset}` : sql``;
    const result = await this.read(
      sql`SELECT * FROM steps WHERE run_id = ${runId} AND parent_step = ${parent} ORDER BY item_index ${window}`,
    );
    return result.map(stepFromRow);
  }

  async getTask(id: string): Promise<TaskRecord | undefined> {
    const [row] = await this.read(sql`SELECT * FROM tasks WHERE id = ${id}`);
    return row ? taskFromRow(row) : undefined;
  }

  async listTasks(query: TaskListQuery): Promise<TaskPage> {
    const where: RawBuilder<unknown>[] = [];
    if (query.tenantId !== undefined) where.push(sql`tenant_id = ${query.tenantId}`);
    if (query.status?.length) where.push(sql`status IN (${sql.join(query.status.map((st) => sql`${st}`))})`);
    if (query.role !== undefined) where.push(sql`role = ${query.role}`);
    if (query.workflow !== undefined) where.push(sql`workflow = ${query.workflow}`);
    if (query.runId !== undefined) where.push(sql`run_id = ${query.runId}`);
    if (query.kind !== undefined) where.push(sql`kind = ${query.kind}`);
    if (query.cursor) {
      const c = decodeCursor(query.cursor);
      where.push(sql`(created_at, id) < (${c.createdAt}, ${c.id})`);
    }
    const filter = where.length ? sql`WHERE ${sql.join(where, sql` AND `)}` : sql``;
    const result = await this.read(sql`SELECT * FROM tasks ${filter} ORDER BY created_at DESC, id DESC LIMIT ${query.limit + 1}`);
    const items = result.slice(0, query.limit).map(taskFromRow);
    const last = items[items.length - 1];
    return { items, nextCursor: result.length > query.limit && last ? encodeCursor(last) : null };
  }

  async lockTask(id: string, owner: string, until: number): Promise<TaskLockResult> {
    const now = this.now();
    const taken = await this.retrying(() =>
      sql`UPDATE tasks SET lock_owner = ${owner}, lock_until = ${until}
        WHERE id = ${id} AND status = 'open' AND (lock_until IS NULL OR lock_until < ${now})`.execute(this.db),
    );
    if (Number(taken.numAffectedRows ?? 0) > 0) return 'acquired';
    const task = await this.getTask(id);
    if (!task) return 'missing';
    return task.status === 'open' ? 'locked' : 'decided';
  }

  async unlockTask(id: string, owner: string): Promise<void> {
    await this.read(sql`UPDATE tasks SET lock_owner = NULL, lock_until = NULL WHERE id = ${id} AND lock_owner = ${owner}`);
  }

  async listSignals(runId: string): Promise<SignalRecord[]> {
    return (await this.read(sql`SELECT * FROM signals WHERE run_id = ${runId} ORDER BY received_at, name`)).map(signalFromRow);
  }

  async childRuns(runId: string): Promise<RunRecord[]> {
    return (await this.read(sql`SELECT * FROM runs WHERE parent_run_id = ${runId} ORDER BY created_at, id`)).map(runFromRow);
  }

  async listSchedules(): Promise<ScheduleRecord[]> {
    return (await this.read(sql`SELECT * FROM schedules ORDER BY workflow`)).map(scheduleFromRow);
  }

  async getSchedule(workflow: string): Promise<ScheduleRecord | undefined> {
    const [row] = await this.read(sql`SELECT * FROM schedules WHERE workflow = ${workflow}`);
    return row ? scheduleFromRow(row) : undefined;
  }

  async saveSchedule(s: ScheduleRecord): Promise<void> {
    await this.read(sql`INSERT INTO schedules (workflow, tenant_id, cron, timezone, input, overlap, catch_up, paused, next_at,
                                               last_tick_at, last_run_id, updated_at)
      VALUES (${s.workflow}, ${s.tenantId}, ${s.cron}, ${s.timezone}, ${JSON.stringify(s.input ?? null)}, ${s.overlap}, ${s.catchUp},
              ${s.paused ? 1 : 0}, ${s.nextAt}, ${s.lastTickAt}, ${s.lastRunId}, ${s.updatedAt})
      ON CONFLICT (workflow) DO UPDATE SET tenant_id = ${s.tenantId}, cron = ${s.cron}, timezone = ${s.timezone},
        input = ${JSON.stringify(s.input ?? null)}, overlap = ${s.overlap}, catch_up = ${s.catchUp}, next_at = ${s.nextAt},
        updated_at = ${s.updatedAt}`);
  }

  async deleteSchedule(workflow: string): Promise<void> {
    await this.read(sql`DELETE FROM schedules WHERE workflow = ${workflow}`);
  }

  async advanceSchedule(
    workflow: string,
    expectedNextAt: number,
    patch: Pick<ScheduleRecord, 'nextAt'> & Partial<Pick<ScheduleRecord, 'lastTickAt' | 'lastRunId'>>,
  ): Promise<boolean> {
    const sets = [sql`next_at = ${patch.nextAt}`, sql`updated_at = ${this.now()}`];
    if (patch.lastTickAt !== undefined) sets.push(sql`last_tick_at = ${patch.lastTickAt}`);
    if (patch.lastRunId !== undefined) sets.push(sql`last_run_id = ${patch.lastRunId}`);
    const result = await this.retrying(() =>
      sql`UPDATE schedules SET ${sql.join(sets)} WHERE workflow = ${workflow} AND next_at = ${expectedNextAt}`.execute(this.db),
    );
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  async setSchedulePaused(workflow: string, paused: boolean, nextAt: number | null): Promise<boolean> {
    const result = await this.retrying(() =>
      sql`UPDATE schedules SET paused = ${paused ? 1 : 0}, next_at = ${nextAt}, updated_at = ${this.now()}
        WHERE workflow = ${workflow}`.execute(this.db),
    );
    return Number(result.numAffectedRows ?? 0) > 0;
  }

  async listAttempts(runId: string, stepId?: string): Promise<AttemptRecord[]> {
    const byStep = stepId === undefined ? sql`` : sql`AND step_id = ${stepId}`;
    const result = await this.read(sql`SELECT * FROM attempts WHERE run_id = ${runId} ${byStep} ORDER BY step_id, attempt`);
    return result.map(attemptFromRow);
  }

  async listEvents(runId: string, afterSeq: number, limit: number): Promise<EventRecord[]> {
    const result = await this.read(sql`SELECT * FROM events WHERE run_id = ${runId} AND seq > ${afterSeq} ORDER BY seq LIMIT ${limit}`);
    return result.map(eventFromRow);
  }

  async upsertWorker(w: WorkerInfo): Promise<void> {
    await this.read(sql`INSERT INTO workers (id, host, pid, roles, concurrency, started_at, heartbeat_at)
      VALUES (${w.id}, ${w.host}, ${w.pid}, ${JSON.stringify(w.roles)}, ${w.concurrency}, ${w.startedAt}, ${w.heartbeatAt})
      ON CONFLICT (id) DO UPDATE SET heartbeat_at = ${w.heartbeatAt}`);
  }

  async removeWorker(id: string): Promise<void> {
    await this.read(sql`DELETE FROM workers WHERE id = ${id}`);
  }

  async recordCall(record: CallRecord): Promise<void> {
    await this.retrying(() => insertCall(record).execute(this.db));
  }

  async spent(query: SpendQuery): Promise<Spend> {
    return spendFromRows(await this.read(spendQuery(query)));
  }

  async usage(query: UsageQuery): Promise<UsageRow[]> {
    return (await this.read(usageQuery(query))).map(usageFromRow);
  }

  async loadJournal(runId: string, stepId: string): Promise<JournalEntry[]> {
    return (await this.read(journalQuery(runId, stepId))).map(journalFromRow);
  }

  async appendJournal(runId: string, stepId: string, entry: JournalEntry): Promise<void> {
    await this.retrying(() => insertJournal(runId, stepId, entry, this.now()).execute(this.db));
  }

  async listWorkers(): Promise<WorkerInfo[]> {
    const result = await this.read(sql`SELECT * FROM workers ORDER BY started_at`);
    return result.map(workerFromRow);
  }
}
