/**
 * Rebuilds a damaged SQLite file into a new one from whatever of it can still be read, the way
 * `sqlite3 .recover` does, in three passes:
 *
 * 1. The schema: every table of `sqlite_master` is created in the new file as it was declared.
 * 2. The rows, table by table in rowid order, each keeping its rowid. A read that hits a damaged
 *    page stops with `SQLITE_CORRUPT`; the copy then looks for the first rowid past the damage
 *    that can be read (doubling the distance, then halving it back: a seek through the intact
 *    interior pages) and goes on from there. What lay on the damaged pages is lost and reported.
 * 3. Indexes, triggers and views, built afresh from the rows copied (a damaged index costs
 *    nothing), then rows left pointing at a parent that was lost are deleted (a step without its
 *    run would never be read), the map items' counts are recounted from the items recovered,
 *    the runs' labels entered again from their metadata, and the result must pass
 *    `PRAGMA integrity_check`.
 *
 * The source is opened read-only and never changed.
 */
import Database from 'better-sqlite3';
import { AgentryError } from '../lib/errors.js';
import { isCorruption } from './sqlite-check.js';

/** A stretch of a table that could not be read: rows with rowid after `afterRowid`, up to `resumedAt` (excluded), are lost. */
export interface LostRange {
  table: string;
  /** The last rowid read before the damage (null: the damage came before any row). */
  afterRowid: number | null;
  /** The first rowid read again after it (null: nothing after the damage could be read). */
  resumedAt: number | null;
}

export interface SqliteRecovery {
  /** Rows copied, by table. */
  tables: Record<string, number>;
  lost: LostRange[];
  /** Rows read but refused by the new file (a unique key seen twice in damaged data), by table. */
  rejected: Record<string, number>;
  /** Rows deleted because the row they reference was lost, by table. */
  orphans: Record<string, number>;
  /** Indexes, triggers or views whose statement failed on the new file (each with the reason). */
  schemaProblems: string[];
}

interface SchemaObject {
  type: string;
  name: string;
  sql: string;
}

const BATCH = 1000;
/** Rowids are 64-bit; JavaScript numbers keep them exactly up to this. */
const MAX_ROWID = Number.MAX_SAFE_INTEGER;

function quote(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

function schemaOf(source: Database.Database, file: string): SchemaObject[] {
  try {
    return source
      .prepare(`SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' ORDER BY rowid`)
      .all() as SchemaObject[];
  } catch (error) {
    throw new AgentryError(
      'store_corrupt',
      `the schema of sqlite:${file} cannot be read (${(error as Error).message}): nothing can be recovered; restore the newest backup`,
      {
        cause: error,
      },
    );
  }
}

/** Whether a read of `table` starting after `rowid` gets past the damage (true: a row or the end; false: damage again). */
function readableAfter(source: Database.Database, table: string, rowid: number): { ok: boolean; next: number | null } {
  try {
    const row = source
      .prepare(`SELECT rowid FROM ${quote(table)} WHERE rowid > ? ORDER BY rowid LIMIT 1`)
      .raw(true)
      .get(rowid) as unknown[] | undefined;
    return { ok: true, next: row === undefined ? null : Number(row[0]) };
  } catch (error) {
    if (!isCorruption(error)) throw error;
    return { ok: false, next: null };
  }
}

/**
 * The smallest `x > from` from which a read of `table` gets past the damage at `from`, or
 * undefined when none does (the rest of the table is lost).
 */
function resumePoint(source: Database.Database, table: string, from: number): number | undefined {
  let bad = from;
  let step = 1;
  let good: number | undefined;
  while (from + step <= MAX_ROWID) {
    if (readableAfter(source, table, from + step).ok) {
      good = from + step;
      break;
    }
    bad = from + step;
    step *= 2;
  }
  if (good === undefined) return readableAfter(source, table, MAX_ROWID).ok ? MAX_ROWID : undefined;
  let first: number = good;
  while (first - bad > 1) {
    const mid: number = bad + Math.floor((first - bad) / 2);
    if (readableAfter(source, table, mid).ok) first = mid;
    else bad = mid;
  }
  return first;
}

/** Copies the rows of `table` that can be read; returns how many, and the stretches lost. */
function copyTable(source: Database.Database, target: Database.Database, table: string, recovery: SqliteRecovery): void {
  const columns = (source.prepare(`PRAGMA table_info(${quote(table)})`).all() as Array<{ name: string }>).map((c) => c.name);
  const select = source.prepare(`SELECT rowid, ${columns.map(quote).join(', ')} FROM ${quote(table)} WHERE rowid > ? ORDER BY rowid LIMIT ${BATCH}`).raw(true);
  const insert = target.prepare(
    `INSERT INTO ${quote(table)} (rowid, ${columns.map(quote).join(', ')}) VALUES (${['?', ...columns.map(() => '?')].join(', ')})`,
  );
  let last = -MAX_ROWID;
  let copied = 0;
  let rejected = 0;
  for (;;) {
    let read = 0;
    try {
      for (const row of select.iterate(last) as IterableIterator<unknown[]>) {
        read++;
        last = Number(row[0]);
        try {
          insert.run(...row);
          copied++;
        } catch {
          rejected++;
        }
      }
    } catch (error) {
      if (!isCorruption(error)) throw error;
      const before = copied + rejected > 0 ? last : null;
      const resume = resumePoint(source, table, last);
      const next = resume === undefined ? null : readableAfter(source, table, resume).next;
      recovery.lost.push({ table, afterRowid: before, resumedAt: next });
      if (resume === undefined || next === null) break;
      last = resume;
      continue;
    }
    if (read < BATCH) break;
  }
  recovery.tables[table] = copied;
  if (rejected > 0) recovery.rejected[table] = rejected;
}

/** Deletes rows whose foreign key points at a row that is not there, until none is left. */
function removeOrphans(target: Database.Database, recovery: SqliteRecovery): void {
  for (;;) {
    const orphans = target.prepare('PRAGMA foreign_key_check').all() as Array<{ table: string; rowid: number | null }>;
    const deletable = orphans.filter((o) => o.rowid !== null);
    if (deletable.length === 0) return;
    for (const { table, rowid } of deletable) {
      const changes = target.prepare(`DELETE FROM ${quote(table)} WHERE rowid = ?`).run(rowid).changes;
      if (changes > 0) recovery.orphans[table] = (recovery.orphans[table] ?? 0) + changes;
    }
  }
}

/**
 * The map items' counts by status (`step_item_counts`, migration 19) recounted from the items
 * recovered: rows of either table may have been lost on different pages.
 */
function recountItems(target: Database.Database): void {
  const exists = target.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'step_item_counts'`).get();
  if (!exists) return;
  target.exec(`DELETE FROM step_item_counts`);
  target.exec(`INSERT INTO step_item_counts (run_id, parent_step, status, n)
    SELECT run_id, parent_step, status, COUNT(*) FROM steps WHERE parent_step IS NOT NULL GROUP BY run_id, parent_step, status`);
}

/**
 * The run quotas' counters (`tenant_run_counts`, `tenant_run_starts`, migration 24) recounted from
 * the runs recovered, for the same reason.
 */
function recountTenantRuns(target: Database.Database): void {
  const exists = target.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tenant_run_counts'`).get();
  if (!exists) return;
  target.exec(`DELETE FROM tenant_run_counts`);
  target.exec(`DELETE FROM tenant_run_starts`);
  target.exec(`INSERT INTO tenant_run_counts (tenant_id, shard, active)
    SELECT tenant_id, 0, COUNT(*) FROM runs WHERE status IN ('queued', 'running', 'waiting') GROUP BY tenant_id`);
  target.exec(`INSERT INTO tenant_run_starts (tenant_id, minute, shard, n)
    SELECT tenant_id, created_at / 60000, 0, COUNT(*) FROM runs GROUP BY tenant_id, created_at / 60000`);
}

/**
 * The label filter's index (`run_labels`, migration 33) entered again from the runs recovered:
 * rows of either table may have been lost on different pages.
 */
function relabelRuns(target: Database.Database): void {
  const exists = target.prepare(`SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'run_labels'`).get();
  if (!exists) return;
  target.exec(`DELETE FROM run_labels`);
  target.exec(`INSERT INTO run_labels (run_id, tenant_id, key, value, created_at)
    SELECT r.id, r.tenant_id, l.key, l.value, r.created_at FROM runs r, json_each(r.metadata) l
    WHERE r.metadata IS NOT NULL AND json_valid(r.metadata) AND json_type(r.metadata) = 'object' AND l.type = 'text'`);
}

/** Rebuilds the SQLite file `sourceFile` into `outFile` (a new file), as described above. */
export function recoverSqliteFile(sourceFile: string, outFile: string): SqliteRecovery {
  let source: Database.Database;
  try {
    source = new Database(sourceFile, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new AgentryError(
      'store_corrupt',
      `sqlite:${sourceFile} cannot be opened (${(error as Error).message}): nothing can be recovered; restore the newest backup`,
      {
        cause: error,
      },
    );
  }
  const recovery: SqliteRecovery = { tables: {}, lost: [], rejected: {}, orphans: {}, schemaProblems: [] };
  const target = new Database(outFile);
  try {
    const schema = schemaOf(source, sourceFile);
    if (!schema.some((o) => o.type === 'table'))
      throw new AgentryError('store_corrupt', `sqlite:${sourceFile} has no readable tables: restore the newest backup`);
    const userVersion = Number(source.pragma('user_version', { simple: true }));
    target.pragma('foreign_keys = OFF');
    target.transaction(() => {
      for (const object of schema.filter((o) => o.type === 'table')) target.exec(object.sql);
      for (const object of schema.filter((o) => o.type === 'table')) copyTable(source, target, object.name, recovery);
      for (const object of schema.filter((o) => o.type !== 'table')) {
        try {
          target.exec(object.sql);
        } catch (error) {
          recovery.schemaProblems.push(`${object.type} ${object.name}: ${(error as Error).message}`);
        }
      }
      removeOrphans(target, recovery);
      recountItems(target);
      recountTenantRuns(target);
      relabelRuns(target);
      target.pragma(`user_version = ${userVersion}`);
    })();
    target.pragma('foreign_keys = ON');
    const check = (target.prepare('PRAGMA integrity_check').raw(true).all() as unknown[][]).map((r) => String(r[0]));
    if (check.length !== 1 || check[0] !== 'ok')
      throw new AgentryError('internal', `the recovered file ${outFile} fails PRAGMA integrity_check: ${check.join('; ')}`);
    return recovery;
  } finally {
    target.close();
    source.close();
  }
}
