/**
 * Items of a `for_each` step: step rows `<parent>[<index>]` with the map step as parent,
 * inserted together, started a few at a time and read back in index order.
 *
 * A map of N items must cost O(N) overall: what runs after each item (settling the map) reads
 * the per-status counts that triggers keep in `step_item_counts` (migration 19) and the next
 * pending items through their partial index, never every item. What reads or writes all items
 * at once (the insert, the results) goes in chunks and lets the event loop run between them, so
 * that no single synchronous SQLite call holds the process for long.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { sql } from 'kysely';
import type { ErrorInfo } from '../../lib/errors.js';
import { itemStepId, type StepRecord, type StepStatus } from '../../types.js';
import type { ItemResult } from '../store-types.js';
import type { Db } from './dialect.js';
import { stepFromRow } from './steps.js';
import { fromJson, rows } from './values.js';

/** Rows per INSERT: large maps are inserted in chunks to stay under the dialects' parameter limits. */
const INSERT_CHUNK = 200;
/** Items read per query by `itemResults`. */
const RESULTS_PAGE = 1000;

/** Inserts `items` as `pending` steps of map step `parent` of run `run`. */
export async function insertItems(db: Db, run: { id: string; priority: number }, parent: string, kind: string, items: unknown[], now: number): Promise<void> {
  for (let start = 0; start < items.length; start += INSERT_CHUNK) {
    if (start > 0) await nextTurn();
    const values = items.slice(start, start + INSERT_CHUNK).map(
      (item, i) =>
        sql`(${run.id}, ${itemStepId(parent, start + i)}, ${kind}, 'pending', 0, ${run.priority}, ${now},
             ${parent}, ${start + i}, ${JSON.stringify(item ?? null)})`,
    );
    await sql`INSERT INTO steps (run_id, step_id, kind, status, attempt, priority, updated_at, parent_step, item_index, item)
      VALUES ${sql.join(values)}`.execute(db);
  }
}

/** How many items of `parent` are in each status (the counts the triggers keep: a few rows, whatever the map's size). */
export async function itemCounts(db: Db, runId: string, parent: string): Promise<Partial<Record<StepStatus, number>>> {
  const result = await rows(db, sql`SELECT status, n FROM step_item_counts WHERE run_id = ${runId} AND parent_step = ${parent} AND n <> 0`);
  return Object.fromEntries(result.map((r) => [r.status as StepStatus, Number(r.n)]));
}

/** The first `limit` pending items of `parent`, by index. */
export async function pendingItems(db: Db, runId: string, parent: string, limit: number): Promise<StepRecord[]> {
  if (limit <= 0) return [];
  const result = await rows(
    db,
    sql`SELECT * FROM steps WHERE run_id = ${runId} AND parent_step = ${parent} AND status = 'pending'
        ORDER BY item_index LIMIT ${limit}`,
  );
  return result.map(stepFromRow);
}

/** Every item's status and result, by index: read (and parsed) a page at a time, the event loop let run between pages. */
export async function itemResults(db: Db, runId: string, parent: string): Promise<ItemResult[]> {
  const results: ItemResult[] = [];
  for (;;) {
    const after = results.length === 0 ? -1 : results[results.length - 1]!.index;
    const page = await rows(
      db,
      sql`SELECT item_index, status, output, error FROM steps WHERE run_id = ${runId} AND parent_step = ${parent} AND item_index > ${after}
          ORDER BY item_index LIMIT ${RESULTS_PAGE}`,
    );
    for (const r of page) {
      results.push({ index: Number(r.item_index), status: r.status as StepStatus, output: fromJson(r.output), error: fromJson<ErrorInfo | null>(r.error) });
    }
    if (page.length < RESULTS_PAGE) return results;
    await nextTurn();
  }
}

/** Cancels every unfinished item (of `parent`, or of the whole run); returns the ones that were running or waiting. */
export async function cancelItems(db: Db, runId: string, parent: string | undefined, finishedAt: number): Promise<StepRecord[]> {
  const scope = parent === undefined ? sql`parent_step IS NOT NULL` : sql`parent_step = ${parent}`;
  const running = await rows(db, sql`SELECT * FROM steps WHERE run_id = ${runId} AND ${scope} AND status IN ('running', 'waiting')`);
  await sql`UPDATE steps SET status = 'cancelled', lease_owner = NULL, lease_expires_at = NULL, finished_at = ${finishedAt},
                             updated_at = ${finishedAt}
    WHERE run_id = ${runId} AND ${scope} AND status IN ('pending', 'queued', 'running', 'waiting')`.execute(db);
  return running.map(stepFromRow);
}

/** Items of map step `parent`, by index (a page of them with `offset`/`limit`). */
export async function listItems(db: Db, runId: string, parent: string, page?: { offset: number; limit: number }): Promise<StepRecord[]> {
  const window = page ? sql`LIMIT ${page.limit} OFFSET ${page.offset}` : sql``;
  const result = await rows(db, sql`SELECT * FROM steps WHERE run_id = ${runId} AND parent_step = ${parent} ORDER BY item_index ${window}`);
  return result.map(stepFromRow);
}
