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
 */
import type { PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

/** Prefix of a statement that may wait for the connection's next one (see the module comment). */
export const DEFER = '/*agentry:defer*/ ';
/**
 * Prefix of several statements without parameters, separated by `;`, sent as one message:
 * the answer's `rows` holds each statement's rows (see `readMany` in postgres.ts).
 */
export const MANY = '/*agentry:many*/ ';

interface Deferred {
  text: string;
  values: readonly unknown[];
}

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

/** `text` with `$1`… replaced by the literals of `values`; undefined when one has none. */
export function inline({ text, values }: Deferred, escape: (text: string) => string): string | undefined {
  if (values.length === 0) return text;
  const literals = values.map((value) => literal(value, escape));
  if (literals.some((l) => l === undefined)) return undefined;
  return text.replace(/\$(\d+)/g, (match, n: string) => literals[Number(n) - 1] ?? match);
}

type Result = PostgresQueryResult<unknown>;

const done = (command: 'COMMIT' | 'ROLLBACK'): Result => ({ command, rowCount: 0, rows: [] });

class DeferringClient {
  private deferred: Deferred[] = [];

  constructor(private readonly client: pg.PoolClient) {}

  release(destroy?: boolean): void {
    this.deferred = [];
    this.client.release(destroy);
  }

  query(text: unknown, values?: readonly unknown[]): Promise<Result> {
    if (typeof text !== 'string') return this.client.query(text as never); // a cursor
    const params = values ?? [];
    if (text.startsWith(DEFER)) {
      this.deferred.push({ text: text.slice(DEFER.length), values: params });
      return Promise.resolve({ command: 'SELECT', rowCount: 0, rows: [] });
    }
    if (text.startsWith(MANY)) return this.sendMany(text);
    if (this.deferred.length === 0) return this.send(text, params);
    const pending = this.deferred;
    this.deferred = [];
    if (/^\s*rollback\s*$/i.test(text)) {
      // BEGIN never left: there is no transaction to roll back.
      return pending.some((d) => /^\s*begin\s*$/i.test(d.text)) ? Promise.resolve(done('ROLLBACK')) : this.send(text, params);
    }
    return this.sendAll([...pending, { text, values: params }]);
  }

  private async send(text: string, values: readonly unknown[]): Promise<Result> {
    return (await this.client.query(text, values.length === 0 ? undefined : [...values])) as unknown as Result;
  }

  /** Sends the deferred statements and `text`'s statements in one message; answers with the rows of each of the latter. */
  private async sendMany(text: string): Promise<Result> {
    const escape = (value: string) => this.client.escapeLiteral(value);
    const pending = this.deferred.map((statement) => inline(statement, escape));
    this.deferred = [];
    const ahead = pending.filter((t) => t !== undefined);
    if (ahead.length < pending.length) throw new Error('a deferred statement cannot go with several others');
    const answer = (await this.client.query([...ahead, text].join(';\n'))) as unknown as Result | Result[];
    const results = Array.isArray(answer) ? answer : [answer];
    return { command: 'SELECT', rowCount: 0, rows: results.slice(ahead.length).map((r) => r.rows) };
  }

  private async sendAll(statements: Deferred[]): Promise<Result> {
    const escape = (value: string) => this.client.escapeLiteral(value);
    const texts = statements.map((statement) => inline(statement, escape));
    if (texts.every((t) => t !== undefined)) {
      // One message, several statements: `pg` answers with one result per statement.
      const results = (await this.client.query(texts.join(';\n'))) as unknown as Result | Result[];
      return Array.isArray(results) ? results[results.length - 1]! : results;
    }
    let last: Result | undefined;
    for (const statement of statements) last = await this.send(statement.text, statement.values);
    return last!;
  }
}

/** The pool Kysely is given: `pool`'s clients, each wrapped once (Kysely keys its connections by client). */
export function deferringPool(pool: pg.Pool): PostgresPool {
  const wrapped = new WeakMap<pg.PoolClient, DeferringClient>();
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect();
      let wrapper = wrapped.get(client);
      if (!wrapper) {
        wrapper = new DeferringClient(client);
        wrapped.set(client, wrapper);
      }
      return wrapper as unknown as PostgresPoolClient;
    },
    end: () => pool.end(),
  };
}
