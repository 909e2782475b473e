/**
 * A multi-row INSERT (`insertRowsQuery`: a claim's attempts and events) as PostgreSQL prepares
 * it once for any row count: `INSERT … SELECT … FROM json_populate_recordset(NULL::t, $1)`, its
 * rows one JSON parameter, an array of objects. As a `VALUES` list its text changed with the
 * row count, and was too long to prepare: it was parsed and planned every time. Each value is
 * converted to its column's type as a literal is, except for a `json`/`jsonb` column, which
 * would keep a string as a JSON string: the store has none (its JSON is in `text` columns, a
 * test keeps it so).
 */
import type { InsertRows } from './sql/values.js';

/** A UTF-16 surrogate without its pair: PostgreSQL's JSON refuses its `\uXXXX` escape, where a literal's UTF-8 carries U+FFFD. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A value JSON carries as the literal would. */
const jsonValue = (value: unknown): boolean =>
  value === null ||
  value === undefined ||
  typeof value === 'boolean' ||
  (typeof value === 'string' && !value.includes('\0') && !LONE_SURROGATE.test(value)) ||
  (typeof value === 'number' && Number.isFinite(value));

/** The recordset form of `insert` (two rows or more); undefined when a value has no JSON form (then it goes as `VALUES`). */
export function recordsetInsert({ table, columns, rows }: InsertRows): { text: string; values: [string] } | undefined {
  if (rows.length < 2 || !rows.every((row) => row.length === columns.length && row.every(jsonValue))) return undefined;
  const objects = rows.map((row) => {
    const object: Record<string, unknown> = {};
    columns.forEach((column, i) => (object[column] = row[i] ?? null));
    return object;
  });
  const list = columns.join(', ');
  return { text: `INSERT INTO ${table} (${list}) SELECT ${list} FROM json_populate_recordset(NULL::${table}, $1)`, values: [JSON.stringify(objects)] };
}
