/**
 * The Store over SQL, shared by both dialects. Dialect differences (how a write
 * transaction starts, how a row is locked, how migrations are serialised) live in
 * `SqlDialect`; every statement here is plain SQL valid in SQLite and PostgreSQL.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { AttemptKey, AttemptRecord, EventRecord, EventType, RunRecord, StepRecord } from '../types.js';
import { AgentryError } from '../errors.js';
import { runMigrations, readSchemaState } from './migrate.js';
import {
  ATTEMPT_COLUMNS,
  RUN_COLUMNS,
  STEP_COLUMNS,
  attemptFromRow,
  eventFromRow,
  runFromRow,
  stepFromRow,
  toJson,
  workerFromRow,
  type Row,
} from './rows.js';
import { IdempotencyKeyUsed } from './store.js';
import type { Spend, SpendQuery } from '../gateway/budget.js';
import type { CallRecord } from '../gateway/types.js';
import type { JournalEntry } from '../runtime/types.js';
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
  constructor(
    private readonly trx: Db,
    public run: RunRecord,
    private readonly now: () => number,
    private cached?: StepRecord[],
  ) {}

  /**
   * Writes what this transaction kept in memory: its events (one multi-row INSERT) and the
   * run's changes with its event counter (one UPDATE). Nothing inside a transition reads
   * them back from the database, so they need not be written earlier.
   */
  async flush(): Promise<void> {
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
      const result = await rows(sql`SELECT * FROM steps WHERE run_id = ${this.run.id} ORDER BY step_id`, this.trx);
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
}

function encodeCursor(run: RunRecord): string {
  return Buffer.from(`${run.createdAt}:${run.id}`).toString('base64url');
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
        await sql`INSERT INTO runs (id, tenant_id, workflow, spec_hash, spec, status, input, output, error, priority,
                                    created_at, started_at, finished_at, deadline_at, updated_at, event_seq)
          VALUES (${run.id}, ${run.tenantId}, ${run.workflow}, ${run.specHash}, ${JSON.stringify(run.spec)}, ${run.status},
                  ${JSON.stringify(run.input ?? null)}, ${toJson(run.output)}, ${toJson(run.error)}, ${run.priority},
                  ${run.createdAt}, ${run.startedAt}, ${run.finishedAt}, ${run.deadlineAt}, ${now}, 0)`.execute(trx);
        if (steps.length > 0) {
          const values = steps.map((step) => sql`(${step.runId}, ${step.stepId}, ${step.kind}, ${step.status}, 0, ${run.priority}, ${now})`);
          await sql`INSERT INTO steps (run_id, step_id, kind, status, attempt, priority, updated_at) VALUES ${sql.join(values)}`.execute(trx);
        }
        if (idempotency) {
          await sql`INSERT INTO idempotency_keys (tenant_id, key, request_hash, run_id, created_at)
            VALUES (${run.tenantId}, ${idempotency.key}, ${idempotency.requestHash}, ${run.id}, ${now})`.execute(trx);
        }
        const inserted: StepRecord[] = steps
          .map((step) => ({
            ...step,
            attempt: 0,
            availableAt: null,
            leaseOwner: null,
            leaseExpiresAt: null,
            input: null,
            output: null,
            error: null,
            state: null,
            meta: null,
            startedAt: null,
            finishedAt: null,
            updatedAt: now,
          }))
          .sort((a, b) => (a.stepId < b.stepId ? -1 : a.stepId > b.stepId ? 1 : 0));
        const tx = new SqlRunTx(trx, { ...run, updatedAt: now, eventSeq: 0 }, this.now, inserted);
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
      const tx = new SqlRunTx(trx, runFromRow(row), this.now);
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
    const result = await this.read(sql`SELECT * FROM steps WHERE run_id = ${runId} ORDER BY step_id`);
    return result.map(stepFromRow);
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
