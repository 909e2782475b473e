/**
 * Backup tests: every Agentry table of a store read whole (to compare a restore with its source),
 * and small edits of backup files (a flipped byte, a cut-off end).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describeAgentryTables } from '../../src/store/backup-tables.js';
import { parseDatabaseUrl } from '../../src/store/database-url.js';
import { openRawPostgres, openRawSqlite, quoteName, type RawDb } from '../../src/store/raw-db.js';

export type TableRows = Record<string, Array<Record<string, unknown>>>;

async function openRaw(url: string): Promise<RawDb> {
  const at = parseDatabaseUrl(url);
  return at.kind === 'sqlite' ? openRawSqlite(at.file) : openRawPostgres(at.url);
}

/** Every row of every Agentry table at `url` (but `skip`), each row keyed by column, rows in a stable order. */
export async function readTables(url: string, skip: readonly string[] = []): Promise<TableRows> {
  const db = await openRaw(url);
  try {
    const out: TableRows = {};
    for (const table of await describeAgentryTables(db)) {
      if (skip.includes(table.name)) continue;
      const rows = await db.all(`SELECT * FROM ${quoteName(table.name)}`);
      out[table.name] = rows
        .map((row) => Object.fromEntries(Object.entries(row).sort(([a], [b]) => (a < b ? -1 : 1))))
        .sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    }
    return out;
  } finally {
    await db.close();
  }
}

/** Runs `text` on the database at `url` and returns its rows. */
export async function queryAt(url: string, text: string, params: unknown[] = []): Promise<Array<Record<string, unknown>>> {
  const db = await openRaw(url);
  try {
    return await db.all(text, params);
  } finally {
    await db.close();
  }
}

/** Writes a copy of `file` with the byte at `offset` (negative: from the end) flipped. */
export function flipByte(file: string, offset: number, to: string): string {
  const bytes = Buffer.from(readFileSync(file));
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] = bytes[at]! ^ 0x01;
  writeFileSync(to, bytes);
  return to;
}

/** Writes a copy of `file` without its last `cut` bytes. */
export function truncated(file: string, cut: number, to: string): string {
  const bytes = readFileSync(file);
  writeFileSync(to, bytes.subarray(0, bytes.length - cut));
  return to;
}

/** Where the body starts (after the header line). */
export function bodyOffset(file: string): number {
  return readFileSync(file).indexOf(10) + 1;
}
