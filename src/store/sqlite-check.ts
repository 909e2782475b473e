/**
 * Whether an SQLite file is sound: SQLite's own `PRAGMA quick_check` (every page read, the
 * b-trees and records well formed: O(size), a few seconds per GB) or `PRAGMA integrity_check`
 * (also every index against its table: slower), on a read-only connection of its own. A file
 * that cannot even be opened as a database (a damaged header: `SQLITE_NOTADB`) or whose pages
 * cannot be read (`SQLITE_CORRUPT`) fails with SQLite's code.
 *
 *   const check = checkSqliteFile('/var/lib/agentry/.agentry/agentry.db', 'quick');
 *   if (!check.ok) console.error(check.code, check.problems);
 */
import Database from 'better-sqlite3';

export type SqliteCheckMode = 'quick' | 'full';

export interface SqliteCheck {
  ok: boolean;
  /** SQLite's result code when the file is damaged: `SQLITE_CORRUPT`, `SQLITE_NOTADB`, … */
  code: string | undefined;
  /** What SQLite found wrong (up to `maxProblems` lines), empty when ok. */
  problems: string[];
}

/** SQLite's error code of a thrown error (better-sqlite3's `SqliteError`), if it has one. */
export function sqliteErrorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

/** Whether `error` says the file's content is damaged (not that it is busy, missing or unreadable for permissions). */
export function isCorruption(error: unknown): boolean {
  const code = sqliteErrorCode(error);
  return code !== undefined && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

/**
 * Checks the SQLite file `file` (which must exist). Errors other than damage (a missing file,
 * permissions, a lock held too long) are thrown as they are.
 */
export function checkSqliteFile(file: string, mode: SqliteCheckMode = 'quick', maxProblems = 20): SqliteCheck {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
    const pragma = mode === 'full' ? 'integrity_check' : 'quick_check';
    const lines = (
      db
        .prepare(`PRAGMA ${pragma}(${Math.max(1, Math.floor(maxProblems))})`)
        .raw(true)
        .all() as unknown[][]
    ).map((row) => String(row[0]));
    if (lines.length === 1 && lines[0] === 'ok') return { ok: true, code: undefined, problems: [] };
    // SQLite heads its report with the database's name: not a problem of its own.
    const problems = lines.map((line) => line.replace(/^\*\*\* in database \w+ \*\*\*\n/, ''));
    return { ok: false, code: 'SQLITE_CORRUPT', problems };
  } catch (error) {
    if (!isCorruption(error)) throw error;
    return { ok: false, code: sqliteErrorCode(error), problems: [(error as Error).message] };
  } finally {
    db?.close();
  }
}
