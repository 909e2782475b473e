/**
 * Damaging an SQLite file on purpose, the way a bad disk or a torn copy does: a table's page
 * overwritten with garbage (found with the `dbstat` table), or the file's header. The file must
 * not be open in any process; its WAL is folded into it first.
 */
import { closeSync, openSync, writeSync } from 'node:fs';
import Database from 'better-sqlite3';

/** Folds the WAL into the file and leaves it in rollback-journal mode, so every page lives in the file itself. */
export function settle(file: string): void {
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.pragma('journal_mode = DELETE');
  } finally {
    db.close();
  }
}

/** The leaf pages of `table`'s b-tree, in page order, and the page size. */
export function leafPages(file: string, table: string): { pages: number[]; pageSize: number } {
  const db = new Database(file, { readonly: true });
  try {
    const pageSize = Number(db.pragma('page_size', { simple: true }));
    const rows = db.prepare(`SELECT pageno FROM dbstat WHERE name = ? AND pagetype = 'leaf' ORDER BY pageno`).all(table) as Array<{ pageno: number }>;
    return { pages: rows.map((r) => r.pageno), pageSize };
  } finally {
    db.close();
  }
}

function overwrite(file: string, offset: number, bytes: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, offset);
  } finally {
    closeSync(fd);
  }
}

/**
 * Overwrites a leaf page from the middle of `table` (it must span at least three) with garbage;
 * returns the page's number. Rows on the other pages stay readable.
 */
export function damageTablePage(file: string, table: string): number {
  settle(file);
  const { pages, pageSize } = leafPages(file, table);
  if (pages.length < 3) throw new Error(`table ${table} has ${pages.length} leaf page(s); add rows until it spans three`);
  const page = pages[Math.floor(pages.length / 2)]!;
  overwrite(file, (page - 1) * pageSize, Buffer.alloc(pageSize, 0xa5));
  return page;
}

/** Overwrites the file's 100-byte header: SQLite no longer sees a database there (`SQLITE_NOTADB`). */
export function damageHeader(file: string): void {
  settle(file);
  overwrite(file, 0, Buffer.alloc(100, 0x5a));
}
