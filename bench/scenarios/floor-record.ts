/**
 * The SQLite floor's recorder and replayer (floor-sqlite.ts): what SQLite alone costs for the
 * statements Agentry sent.
 *
 *   const recorder = recordStatements();   // every statement better-sqlite3 runs from now on…
 *   …                                      // …except on databases passed to recorder.ignore()
 *   const statements = recorder.stop();    // in order: { sql, method, args }
 *   const replayed = replay(copyOfTheSnapshot, statements);
 *
 * The store keeps its prepared statements between queries (sqlite-statements.ts), so wrapping
 * `Database.prototype.prepare` would see each text once: the recorder wraps what `prepare`
 * returns instead, the `run`/`get`/`all`/`iterate` of better-sqlite3's Statement prototype (and
 * `Database.prototype.exec`, which the store does not use today), and records each execution.
 * BEGIN IMMEDIATE / COMMIT are statements like the others (Kysely's `sql\`BEGIN IMMEDIATE\``).
 * Only the bench installs this, and `stop()` puts the originals back.
 */
import Database from 'better-sqlite3';

type Method = 'run' | 'get' | 'all' | 'iterate' | 'exec';
export interface RecordedStatement {
  sql: string;
  method: Method;
  /** The bind arguments as the caller passed them (Kysely: one array). */
  args: unknown[];
}

const STATEMENT_METHODS = ['run', 'get', 'all', 'iterate'] as const;
type Executable = (this: Database.Statement, ...args: unknown[]) => unknown;

export function recordStatements(): { ignore(database: Database.Database): void; stop(): RecordedStatement[] } {
  const probe = new Database(':memory:');
  const statementPrototype = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<(typeof STATEMENT_METHODS)[number], Executable>;
  probe.close();
  const databasePrototype = Database.prototype as unknown as { exec: (this: Database.Database, sql: string) => unknown };
  const ignored = new WeakSet<Database.Database>();
  const recorded: RecordedStatement[] = [];
  const originals = STATEMENT_METHODS.map((method) => [method, statementPrototype[method]] as const);
  for (const [method, original] of originals) {
    statementPrototype[method] = function (this: Database.Statement, ...args: unknown[]) {
      if (!ignored.has(this.database)) recorded.push({ sql: this.source, method, args });
      return original.apply(this, args);
    };
  }
  const originalExec = databasePrototype.exec;
  databasePrototype.exec = function (this: Database.Database, sql: string) {
    if (!ignored.has(this)) recorded.push({ sql, method: 'exec', args: [] });
    return originalExec.call(this, sql);
  };
  return {
    ignore: (database) => ignored.add(database),
    stop() {
      for (const [method, original] of originals) statementPrototype[method] = original;
      databasePrototype.exec = originalExec;
      return recorded;
    },
  };
}

/** What a statement is counted under: its first 60 characters, white space folded. */
export const statementKind = (sql: string): string => sql.replace(/\s+/g, ' ').trim().slice(0, 60);

/** Opens `file` as the store does (src/store/sqlite.ts: its pragmas). */
export function openAsStore(file: string): Database.Database {
  const database = new Database(file);
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  return database;
}

export interface Replayed {
  statements: number;
  /** Statements that threw on replay (expected 0: the same statements on the same file, in order). */
  errors: number;
  firstError: string | null;
  cpuUs: number;
  wallUs: number;
}

/**
 * Executes `statements` in order on a fresh copy of the snapshot they were recorded from, in a
 * tight synchronous loop: each distinct text prepared once beforehand, results ignored (an
 * `iterate` is read to its end, as the caller did). CPU is the process's over the loop.
 */
export function replay(file: string, statements: readonly RecordedStatement[]): Replayed {
  const database = openAsStore(file);
  try {
    const prepared = prepareAll(database, statements);
    let errors = 0;
    let firstError: string | null = null;
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < statements.length; i++) {
      try {
        execute(database, prepared[i], statements[i]!);
      } catch (error) {
        errors++;
        firstError ??= `${statementKind(statements[i]!.sql)}: ${(error as Error).message}`;
      }
    }
    const wallUs = (performance.now() - started) * 1000;
    const { user, system } = process.cpuUsage(cpu);
    return { statements: statements.length, errors, firstError, cpuUs: user + system, wallUs };
  } finally {
    database.close();
  }
}

export interface KindCost {
  kind: string;
  count: number;
  cpuUs: number;
  wallUs: number;
}

/**
 * The same replay with the process's CPU time and the clock read around every statement: the
 * cost by statement kind (statementKind), most CPU first. The reads cost time of their own
 * (a `getrusage` each), so read the shares, and the totals from replay().
 */
export function replayByKind(file: string, statements: readonly RecordedStatement[]): KindCost[] {
  const database = openAsStore(file);
  try {
    const prepared = prepareAll(database, statements);
    const kinds = statements.map((s) => statementKind(s.sql));
    const byKind = new Map<string, KindCost>();
    for (let i = 0; i < statements.length; i++) {
      const cpu = process.cpuUsage();
      const started = performance.now();
      try {
        execute(database, prepared[i], statements[i]!);
      } catch {
        // counted by replay()
      }
      const wallUs = (performance.now() - started) * 1000;
      const { user, system } = process.cpuUsage(cpu);
      const entry = byKind.get(kinds[i]!) ?? { kind: kinds[i]!, count: 0, cpuUs: 0, wallUs: 0 };
      entry.count++;
      entry.cpuUs += user + system;
      entry.wallUs += wallUs;
      byKind.set(kinds[i]!, entry);
    }
    return [...byKind.values()].sort((a, b) => b.cpuUs - a.cpuUs);
  } finally {
    database.close();
  }
}

/** Each distinct text prepared once; `exec` texts have none (undefined). */
function prepareAll(database: Database.Database, statements: readonly RecordedStatement[]): Array<Database.Statement | undefined> {
  const byText = new Map<string, Database.Statement>();
  return statements.map((s) => {
    if (s.method === 'exec') return undefined;
    let statement = byText.get(s.sql);
    if (!statement) byText.set(s.sql, (statement = database.prepare(s.sql)));
    return statement;
  });
}

function execute(database: Database.Database, statement: Database.Statement | undefined, recorded: RecordedStatement): void {
  // `database.pragma()` reads its statement with all() whether it returns rows or not (better-sqlite3's pragma mode); a statement prepared here that returns none takes run().
  if (statement && !statement.reader) {
    statement.run(...recorded.args);
    return;
  }
  switch (recorded.method) {
    case 'exec':
      database.exec(recorded.sql);
      return;
    case 'iterate':
      for (const row of statement!.iterate(...recorded.args)) void row;
      return;
    default:
      statement![recorded.method](...recorded.args);
  }
}
