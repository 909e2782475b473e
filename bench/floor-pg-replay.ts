/**
 * Records every query the `pg` clients of this process send, and replays the recording on a copy
 * of the database it ran on, for the PostgreSQL floor (bench/floor-pg.ts, `npm run bench:floor:pg`).
 *
 * - `startRecording(ignored)` wraps `pg.Client.prototype.query` (only in the bench process) and
 *   appends each query — its text, values and prepared-statement name, as `pg` was handed them — to
 *   the stream of the connection that sent it, with the row counts of its answer and the order in
 *   which the answers came. Agentry's own `PREPARE` / `EXECUTE` and multi-statement messages
 *   (src/store/postgres-deferred.ts) are plain texts there, so a stream replayed in order on a
 *   fresh connection prepares what it executes.
 * - `openReplay(url, recording)` replays each stream on its own connection, all at once, each
 *   query awaited before the next, results ignored: the database's work without the engine.
 * - `timeStatements(url, recording)` replays the recording one query at a time in the order its
 *   answers came, each statement of a multi-statement message on its own, and times each one: the
 *   database's time by statement (pg_stat_statements is not loaded on the test server).
 *
 * A statement that fails in a replay (a lock not available, a serialization failure: the
 * interleaving differs from the recording) is counted; when it aborted a transaction, the replay
 * sends ROLLBACK and skips the rest of that transaction's queries, counting them.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import pg from 'pg';

export interface RecordedQuery {
  text: string;
  values?: unknown[];
  /** A `pg` named (protocol-level) prepared statement. */
  name?: string;
  /** Row count of each statement of the recorded answer; null when it failed (or has not answered yet). */
  rowCounts: number[] | null;
  /** Rank of its answer among all the recorded queries' answers (across connections). */
  done: number;
}

export interface Recording {
  /** One stream per connection, in the order its queries were sent. */
  streams: RecordedQuery[][];
  /** Queries not recorded: cursors and other submittables (none expected). */
  unrecorded: number;
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

const rowCountsOf = (result: unknown): number[] =>
  (Array.isArray(result) ? result : [result]).map((r) => (r as { rowCount?: number | null } | undefined)?.rowCount ?? -1);

/** Starts recording the queries of every `pg.Client` but the `ignored` ones; `stop()` ends it (answers still pending are ranked as they come). */
export function startRecording(ignored: WeakSet<pg.Client>): { stop(): Recording } {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- re-bound below with apply
  const original = pg.Client.prototype.query as QueryFn;
  const ids = new WeakMap<pg.Client, number>();
  const recording: Recording = { streams: [], unrecorded: 0 };
  let answered = 0;
  const wrapped: QueryFn = function (this: pg.Client, ...args: unknown[]) {
    if (ignored.has(this)) return original.apply(this, args);
    const [config, second] = args;
    let entry: RecordedQuery;
    if (typeof config === 'string') {
      entry = { text: config, ...(Array.isArray(second) ? { values: [...(second as unknown[])] } : {}), rowCounts: null, done: -1 };
    } else if (config !== null && typeof config === 'object' && typeof (config as { submit?: unknown }).submit !== 'function') {
      const c = config as { text: string; values?: unknown[]; name?: string };
      const values = c.values ?? (Array.isArray(second) ? (second as unknown[]) : undefined);
      entry = { text: c.text, ...(values ? { values: [...values] } : {}), ...(c.name ? { name: c.name } : {}), rowCounts: null, done: -1 };
    } else {
      recording.unrecorded++;
      return original.apply(this, args);
    }
    let id = ids.get(this);
    if (id === undefined) {
      id = recording.streams.length;
      ids.set(this, id);
      recording.streams.push([]);
    }
    recording.streams[id]!.push(entry);
    const settle = (result: unknown, failed: boolean) => {
      entry.done = answered++;
      entry.rowCounts = failed ? null : rowCountsOf(result);
    };
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      args[args.length - 1] = (error: unknown, result: unknown) => {
        settle(result, Boolean(error));
        (last as (e: unknown, r: unknown) => void)(error, result);
      };
      return original.apply(this, args);
    }
    return (original.apply(this, args) as Promise<unknown>).then(
      (result) => {
        settle(result, false);
        return result;
      },
      (error: unknown) => {
        settle(undefined, true);
        throw error;
      },
    );
  };
  pg.Client.prototype.query = wrapped as typeof pg.Client.prototype.query;
  return {
    stop() {
      pg.Client.prototype.query = original as typeof pg.Client.prototype.query;
      return recording;
    },
  };
}

export interface ReplayStats {
  queries: number;
  seconds: number;
  /** Failed statements, by SQLSTATE. */
  errors: Record<string, number>;
  /** Transactions rolled back after a failed statement. */
  rolledBack: number;
  /** Queries skipped: the rest of a rolled-back transaction. */
  skipped: number;
  /** Queries whose answer's row counts differ from the recording's (another interleaving claimed other rows). */
  rowCountsDiffer: number;
}

const BEGINS = /(^|;\n)\s*(\/\*[^*]*\*\/\s*)*(BEGIN|START TRANSACTION)\b/i;
const ENDS = /(^|;\n)\s*(COMMIT|ROLLBACK)\s*$/i;

/** Replays one connection's queries in order, tracking its transaction so that a failure rolls it back. */
class StreamReplayer {
  private inTransaction = false;
  private skipping = false;

  constructor(
    private readonly client: pg.Client,
    private readonly stats: ReplayStats,
  ) {}

  /** Sends `query` (or skips it, in an aborted transaction); returns how long the answer took in ms, or null when skipped or failed. */
  async send(query: { text: string; values?: unknown[]; name?: string }, rowCounts: number[] | null): Promise<number | null> {
    const begins = BEGINS.test(query.text);
    const ends = ENDS.test(query.text);
    if (this.skipping) {
      this.stats.skipped++;
      if (ends) this.skipping = false;
      return null;
    }
    const started = performance.now();
    try {
      const result = await this.client.query(
        query.name ? { name: query.name, text: query.text, values: query.values } : { text: query.text, values: query.values },
      );
      const took = performance.now() - started;
      this.stats.queries++;
      if (rowCounts && rowCountsOf(result).join() !== rowCounts.join()) this.stats.rowCountsDiffer++;
      if (ends) this.inTransaction = false;
      else if (begins) this.inTransaction = true;
      return took;
    } catch (error) {
      this.stats.queries++;
      const code = (error as { code?: string }).code ?? 'no code';
      this.stats.errors[code] = (this.stats.errors[code] ?? 0) + 1;
      if (this.inTransaction || (begins && !ends)) {
        await this.client.query('ROLLBACK');
        this.stats.rolledBack++;
        this.inTransaction = false;
        this.skipping = !ends;
      }
      return null;
    }
  }
}

const emptyStats = (): ReplayStats => ({ queries: 0, seconds: 0, errors: {}, rolledBack: 0, skipped: 0, rowCountsDiffer: 0 });

async function connectAll(url: string, count: number, options: pg.ClientConfig = {}): Promise<pg.Client[]> {
  const clients = Array.from({ length: count }, () => new pg.Client({ connectionString: url, statement_timeout: 30_000, ...options }));
  for (const client of clients) client.on('error', () => undefined);
  await Promise.all(clients.map((c) => c.connect()));
  return clients;
}

/**
 * The recording, ready to replay on the database at `url`: each stream on its own connection
 * (opened now), all at once when `run()` is called.
 */
export async function openReplay(url: string, recording: Recording): Promise<{ run(): Promise<ReplayStats>; close(): Promise<void> }> {
  const clients = await connectAll(url, recording.streams.length);
  return {
    async run() {
      const stats = emptyStats();
      const started = performance.now();
      await Promise.all(
        recording.streams.map(async (stream, at) => {
          const replayer = new StreamReplayer(clients[at]!, stats);
          for (const query of stream) await replayer.send(query, query.rowCounts);
        }),
      );
      stats.seconds = (performance.now() - started) / 1000;
      return stats;
    },
    close: async () => void (await Promise.all(clients.map((c) => c.end()))),
  };
}

export interface StatementTime {
  statement: string;
  count: number;
  /** Wall time from sending it to its answer, the round trip and any wait (a COMMIT's WAL flush) included. */
  totalMs: number;
  /** CPU time of the backend that ran it (`/proc/<pid>/schedstat`, ns exact); null where /proc is not the server's. */
  cpuMs: number | null;
}

/** CPU ns the process `pid` has run so far (the first field of `/proc/<pid>/schedstat`); null when unreadable. */
function runNs(pid: number): number | null {
  try {
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/** Literals and whitespace out of a statement: what tells one statement of the recording from another. */
function normalize(text: string): string {
  return text
    .replace(/'(?:[^']|'')*'/g, '?')
    .replace(/\b\d+(\.\d+)?\b/g, '?')
    .replace(/\(\?\)/g, '?')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * Replays the recording one query at a time, in the order the recorded answers came (each
 * stream on its own connection, so that its transactions and prepared statements are its own),
 * each statement of a multi-statement message sent on its own, and times each: wall ms and the
 * backend's CPU ms by statement (`EXECUTE name(…)` is named by its `PREPARE`'s text), with the
 * round trip of `SELECT 1` on the same connections to subtract from the wall time.
 */
export async function timeStatements(url: string, recording: Recording): Promise<{ statements: StatementTime[]; roundTripMs: number; stats: ReplayStats }> {
  const clients = await connectAll(url, recording.streams.length, { lock_timeout: 2_000 });
  const stats = emptyStats();
  const replayers = clients.map((c) => new StreamReplayer(c, stats));
  const ordered = recording.streams
    .flatMap((stream, at) => stream.map((query) => ({ query, at })))
    .sort((a, b) => (a.query.done < 0 ? Infinity : a.query.done) - (b.query.done < 0 ? Infinity : b.query.done));
  const prepared = new Map<string, string>();
  const byStatement = new Map<string, StatementTime>();
  const keyOf = (text: string) => {
    const prepare = /^\s*PREPARE (\w+) AS ([\s\S]*)$/i.exec(text);
    if (prepare) {
      prepared.set(prepare[1]!, normalize(prepare[2]!));
      return `PREPARE ${normalize(prepare[2]!)}`;
    }
    const execute = /^\s*EXECUTE (\w+)/i.exec(text);
    if (execute) return `EXECUTE ${prepared.get(execute[1]!) ?? execute[1]!}`;
    return normalize(text);
  };
  try {
    const started = performance.now();
    for (const { query, at } of ordered) {
      const parts = query.values === undefined && query.name === undefined ? query.text.split(';\n') : [query.text];
      for (const text of parts) {
        const pid = (clients[at] as unknown as { processID: number }).processID;
        const ranBefore = runNs(pid);
        const took = await replayers[at]!.send(parts.length === 1 ? query : { text }, null);
        const ranAfter = runNs(pid);
        if (took === null) continue;
        const key = keyOf(text);
        const entry = byStatement.get(key) ?? { statement: key, count: 0, totalMs: 0, cpuMs: 0 };
        entry.count++;
        entry.totalMs += took;
        entry.cpuMs = ranBefore === null || ranAfter === null || entry.cpuMs === null ? null : entry.cpuMs + (ranAfter - ranBefore) / 1e6;
        byStatement.set(key, entry);
      }
    }
    stats.seconds = (performance.now() - started) / 1000;
    const trips: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = performance.now();
      await clients[i % clients.length]!.query('SELECT 1');
      trips.push(performance.now() - t);
    }
    trips.sort((a, b) => a - b);
    return {
      statements: [...byStatement.values()].sort((a, b) => (b.cpuMs ?? b.totalMs) - (a.cpuMs ?? a.totalMs)),
      roundTripMs: trips[trips.length >> 1]!,
      stats,
    };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}
