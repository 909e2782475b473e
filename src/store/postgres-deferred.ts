/**
 * Fewer round trips per transaction on PostgreSQL. A statement whose result nobody reads — a
 * transaction's BEGIN, the writes a run's transaction buffered — is marked `DEFER` and not
 * sent on its own: it travels in front of the connection's next statement, in one
 * simple-query message with the parameters written as literals. So a run's transaction is two
 * round trips (BEGIN with the lock of the run; the writes with COMMIT), not four.
 *
 * The pool handed to Kysely wraps each `pg` client. What cannot be written as a literal (an
 * array, a buffer) is sent as before, one statement at a time with its parameters. A
 * ROLLBACK drops what was deferred (and is not sent at all when BEGIN never left).
 *
 * Named prepared statements (unless `prepared_statements=off`): the statements sent together by
 * `MANY` — a run's lock and the read of its steps, in every run transaction, and the claim loop's
 * due-steps read — are prepared once
 * per connection (`PREPARE`, on its own, the first time) and then sent as `EXECUTE name(…)`, so
 * PostgreSQL no longer parses and plans them each time (planning was most of their cost: the
 * planner sizes every index of the tables they read). A prepared statement outlives a
 * rolled-back transaction, and one that failed to prepare is not marked, so the set each
 * connection keeps matches its session. PgBouncer in transaction mode hands a session's
 * statements to different server connections: there, turn them off.
 *
 * The buffered writes of a run's transaction (`DEFER_PREPARED`: its step and attempt updates,
 * attempt and event inserts, run update) are prepared the same way, each statement by its text,
 * and travel with the COMMIT as `EXECUTE`s. Sent as one statement with inlined literals, their
 * text differed every time, and parsing and planning it was most of the database's cost of a
 * step. A multi-row INSERT (a claim's attempts and events) comes here as one text for any row
 * count, its rows one JSON parameter (the dialect writes it so: `postgres-recordset.ts`). A write with more than
 * `MAX_PREPARED_PARAMETERS` parameters, or any beyond a connection's `MAX_PREPARED` statements, is
 * sent inlined as before. A `PREPARE` that fails inside a transaction fails the transaction, so
 * the writes' texts put every parameter where PostgreSQL can infer its type (a column's value
 * or comparison); `EXECUTE` casts each literal to it.
 *
 * A prepared statement's generic plan is made once, from the statistics and table sizes of that
 * moment, and kept until an `ANALYZE` of one of its tables invalidates it. A table that was empty
 * then — `attempts` in a fresh store analyzed before its first step ran — is planned as a
 * sequential scan, and every read of a run's steps then scanned all of it until autovacuum got
 * to it: the database's CPU per step grew with every step done (1.6 ms at 10,000 steps against
 * 0.7). So each statement is prepared again after 100, 200, 400 … executions (every
 * `REPREPARE_MAX` at most), planned anew from the tables' current sizes.
 */
import { createHash } from 'node:crypto';
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

/** Prefix of a statement that may wait for the connection's next one (see the module comment). */
export const DEFER = '/*agentry:defer*/ ';
/**
 * The text of several statements sent as one message, given as the query's parameters: a
 * `Deferred[]` (each statement's text and its parameters, all of which must have a literal
 * form). The answer's `rows` holds each statement's rows (see `readMany` in postgres.ts).
 */
export const MANY = '/*agentry:many*/ ';

/** `DEFER`, for a write statement sent as `EXECUTE` of its prepared form when it can be (see the module comment). */
export const DEFER_PREPARED = '/*agentry:defer-prepared*/ ';

export interface Deferred {
  text: string;
  values: readonly unknown[];
  /** Deferred by `DEFER_PREPARED`. */
  prepare?: boolean;
}

/** A deferred write with more parameters than this is not prepared: its text would be seen once (multi-row INSERTs go as one recordset text: `postgres-recordset.ts`). */
export const MAX_PREPARED_PARAMETERS = 40;
/** A connection prepares at most this many deferred writes' texts; further ones are inlined. */
export const MAX_PREPARED = 200;

/** `value` as an SQL literal, or undefined when it has none here (then it goes as a parameter). */
function literal(value: unknown, escape: (text: string) => string): string | undefined {
  if (value === null || value === undefined) return 'NULL';
  switch (typeof value) {
    case 'string':
      return value.includes('\0') ? undefined : escape(value);
    case 'number':
      if (!Number.isFinite(value)) return undefined;
      // In parentheses when negative: `x - -1` would start a comment.
      return value < 0 || Object.is(value, -0) ? `(${value})` : String(value);
    case 'bigint':
      return value < 0n ? `(${value})` : String(value);
    case 'boolean':
      return value ? 'TRUE' : 'FALSE';
    default:
      return undefined;
  }
}

/** The literals of `values`; undefined when one has none. */
function literals(values: readonly unknown[], escape: (text: string) => string): string[] | undefined {
  const written = values.map((value) => literal(value, escape));
  return written.some((l) => l === undefined) ? undefined : (written as string[]);
}

/** `text` with `$1`… replaced by the literals of `values`; undefined when one has none. */
export function inline({ text, values }: Deferred, escape: (text: string) => string): string | undefined {
  if (values.length === 0) return text;
  const written = literals(values, escape);
  if (!written) return undefined;
  return text.replace(/\$(\d+)/g, (match, n: string) => written[Number(n) - 1] ?? match);
}

/** The name a statement's text is prepared under (the same in every process of a version). */
const preparedNames = new Map<string, string>();
export function preparedName(text: string): string {
  let name = preparedNames.get(text);
  if (name === undefined) {
    if (preparedNames.size >= 256) preparedNames.clear(); // the texts are a few fixed ones; bound it anyway
    name = `agentry_${createHash('sha256').update(text).digest('hex').slice(0, 16)}`;
    preparedNames.set(text, name);
  }
  return name;
}

/**
 * Errors after which a connection's prepared statements are not what it believes: a table's
 * columns changed under a prepared `SELECT *` (a migration by a newer version: "cached plan must
 * not change result type"), a statement gone (`DISCARD ALL`, a pooler) or there already. The
 * transaction fails (and is retried as any other); the connection is closed, a fresh one prepares anew.
 */
const PREPARED_OUT_OF_STEP = new Set(['0A000', '26000', '42P05']);

/** A prepared statement is prepared again after this many executions, then twice as many each time, up to `REPREPARE_MAX`. */
export const REPREPARE_FIRST = 100;
export const REPREPARE_MAX = 10_000;

export interface DeferringOptions {
  /** Prepare the statements sent by `MANY` once per connection (see the module comment); default true. */
  prepare?: boolean;
}

type Result = PostgresQueryResult<unknown>;

const done = (command: 'COMMIT' | 'ROLLBACK'): Result => ({ command, rowCount: 0, rows: [] });

class DeferringClient {
  private deferred: Deferred[] = [];
  /** The statements prepared in this connection's session, by name: executions left before it is prepared again, and the next interval. */
  private readonly prepared = new Map<string, { left: number; next: number }>();
  /** The session's prepared statements no longer match `prepared` (see `PREPARED_OUT_OF_STEP`): close it on release. */
  private discard = false;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly prepare: boolean,
  ) {}

  release(destroy?: boolean): void {
    this.deferred = [];
    this.client.release(destroy === true || this.discard ? true : destroy);
  }

  query(text: unknown, values?: readonly unknown[]): Promise<Result> {
    if (typeof text !== 'string') return this.client.query(text as never); // a cursor
    const params = values ?? [];
    if (text.startsWith(DEFER_PREPARED)) {
      this.deferred.push({ text: text.slice(DEFER_PREPARED.length), values: params, prepare: true });
      return Promise.resolve({ command: 'SELECT', rowCount: 0, rows: [] });
    }
    if (text.startsWith(DEFER)) {
      this.deferred.push({ text: text.slice(DEFER.length), values: params });
      return Promise.resolve({ command: 'SELECT', rowCount: 0, rows: [] });
    }
    if (text === MANY) return this.sendMany(params as Deferred[]);
    if (this.deferred.length === 0) return this.send(text, params);
    const pending = this.deferred;
    this.deferred = [];
    if (/^\s*rollback\s*$/i.test(text)) {
      // BEGIN never left: there is no transaction to roll back.
      return pending.some((d) => /^\s*begin\s*$/i.test(d.text)) ? Promise.resolve(done('ROLLBACK')) : this.send(text, params);
    }
    return this.sendAll([...pending, { text, values: params }]);
  }

  /** Rethrows `error`, marking the connection to be closed when its prepared statements are out of step with `prepared`. */
  private outOfStep(error: unknown): never {
    if (PREPARED_OUT_OF_STEP.has((error as { code?: unknown } | null)?.code as string)) this.discard = true;
    throw error;
  }

  private async send(text: string, values: readonly unknown[]): Promise<Result> {
    return (await this.client.query(text, values.length === 0 ? undefined : [...values])) as unknown as Result;
  }

  /** Sends the deferred statements and `many` in one message; answers with the rows of each of the latter. */
  private async sendMany(many: readonly Deferred[]): Promise<Result> {
    const escape = (value: string) => this.client.escapeLiteral(value);
    const deferred = this.deferred;
    this.deferred = [];
    const pending: Array<string | undefined> = [];
    for (const statement of deferred) pending.push(await this.ahead(statement, escape));
    const ahead = pending.filter((t) => t !== undefined);
    if (ahead.length < pending.length) throw new Error('a deferred statement cannot go with several others');
    const statements: string[] = [];
    for (const statement of many) statements.push(await this.written(statement, escape));
    const answer = (await this.client.query([...ahead, ...statements].join(';\n')).catch((error: unknown) => this.outOfStep(error))) as unknown as
      Result | Result[];
    const results = Array.isArray(answer) ? answer : [answer];
    return { command: 'SELECT', rowCount: 0, rows: results.slice(ahead.length).map((r) => r.rows) };
  }

  /** `statement` as text for a multi-statement message: `EXECUTE` of its prepared form (prepared now if new), or inlined. */
  private async written(statement: Deferred, escape: (text: string) => string): Promise<string> {
    const values = literals(statement.values, escape);
    if (!values) throw new Error('a statement sent with several others needs literal parameters');
    if (!this.prepare) return inline(statement, escape)!;
    const name = preparedName(statement.text);
    const known = this.prepared.get(name);
    if (known && known.left-- <= 0) {
      // Planned anew from the tables as they are now (see the module comment).
      // Forgotten only once gone: a DEALLOCATE that failed (an aborted transaction) is tried again next time.
      await this.client.query(`DEALLOCATE ${name}`).catch((error: unknown) => this.outOfStep(error));
      this.prepared.delete(name);
    }
    if (!this.prepared.has(name)) {
      // On its own, ahead of the message: a PREPARE that fails is then not taken for done.
      await this.client.query(`PREPARE ${name} AS ${statement.text}`).catch((error: unknown) => this.outOfStep(error));
      const interval = known ? Math.min(known.next, REPREPARE_MAX) : REPREPARE_FIRST;
      this.prepared.set(name, { left: interval, next: interval * 2 });
    }
    return values.length === 0 ? `EXECUTE ${name}` : `EXECUTE ${name}(${values.join(', ')})`;
  }

  /** A deferred statement as text for a multi-statement message: `EXECUTE` of its prepared form for a write that can be, else inlined (undefined: it has no literal form). */
  private async ahead(statement: Deferred, escape: (text: string) => string): Promise<string | undefined> {
    const preparable =
      statement.prepare === true &&
      this.prepare &&
      statement.values.length <= MAX_PREPARED_PARAMETERS &&
      (this.prepared.size < MAX_PREPARED || this.prepared.has(preparedName(statement.text))) &&
      literals(statement.values, escape) !== undefined;
    return preparable ? this.written(statement, escape) : inline(statement, escape);
  }

  private async sendAll(statements: Deferred[]): Promise<Result> {
    const escape = (value: string) => this.client.escapeLiteral(value);
    const texts: Array<string | undefined> = [];
    for (const statement of statements) texts.push(await this.ahead(statement, escape));
    if (texts.every((t) => t !== undefined)) {
      // One message, several statements: `pg` answers with one result per statement.
      const results = (await this.client.query(texts.join(';\n')).catch((error: unknown) => this.outOfStep(error))) as unknown as Result | Result[];
      return Array.isArray(results) ? results[results.length - 1]! : results;
    }
    let last: Result | undefined;
    for (const statement of statements) last = await this.send(statement.text, statement.values);
    return last!;
  }
}

/** The pool Kysely is given: `pool`'s clients, each wrapped once (Kysely keys its connections by client). */
export function deferringPool(pool: pg.Pool, options: DeferringOptions = {}): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, DeferringClient>();
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let wrapper = wrapped.get(client);
      if (!wrapper) {
        wrapper = new DeferringClient(client, options.prepare ?? true);
        wrapped.set(client, wrapper);
      }
      return wrapper as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
