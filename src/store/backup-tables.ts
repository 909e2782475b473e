/**
 * Which tables are Agentry's, and what a database's catalog says about them: their columns,
 * primary keys and the tables their foreign keys point at. Backups export these tables and
 * restores drop and fill them; a database may hold other tables (PostgreSQL: other
 * applications' tables in the same schema), which both leave alone.
 */
import { MIGRATIONS } from './migrations.js';
import { quoteName, type RawDb } from './raw-db.js';
import type { StoreKind } from './store-types.js';

/** What a table is made of, from the catalog. */
export interface TableInfo {
  name: string;
  /** In declaration order. */
  columns: string[];
  /** The primary key's columns, in key order (empty: none). */
  primaryKey: string[];
  /** Tables its foreign keys reference (rows there must be loaded first). */
  references: string[];
}

/**
 * The tables Agentry's migrations create (every one that was ever created, renamed ones under
 * both names), in the order they were first created, with `schema_migrations` first.
 */
export function agentryTables(kind: StoreKind): string[] {
  const names = ['schema_migrations'];
  for (const migration of MIGRATIONS) {
    for (const statement of migration[kind]) {
      for (const match of statement.matchAll(/\b(?:CREATE TABLE(?: IF NOT EXISTS)?|RENAME TO)\s+([a-z_][a-z0-9_]*)/gi)) {
        const name = match[1]!.toLowerCase();
        if (!names.includes(name)) names.push(name);
      }
    }
  }
  return names;
}

/**
 * Tables whose rows are what a user would lose: runs (steps, events and the rest belong to a
 * run), schedules, managed keys, the LLM call ledger, and audit entries other than the
 * migrations' own (a freshly migrated store has those) and the records of backups taken of it
 * (`store.backup`). A restore target holding a row in any of
 * them is not empty. Bookkeeping rows (schema version, the audit head, key revision, workers'
 * heartbeats, rate-limit buckets, budget counters) do not count.
 */
const DATA_TABLES: Readonly<Record<string, string>> = {
  runs: '',
  schedules: '',
  api_keys: '',
  llm_calls: '',
  audit_log: `WHERE action NOT IN ('store.migrate', 'store.backup')`,
};

/** Rows in each data table that has any (see `DATA_TABLES`), of the Agentry tables present. */
export async function dataRowCounts(db: RawDb, present: readonly string[]): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const [table, where] of Object.entries(DATA_TABLES)) {
    if (!present.includes(table)) continue;
    const [row] = await db.rows(`SELECT count(*) FROM ${quoteName(table)} ${where}`);
    const n = Number(row?.[0] ?? 0);
    if (n > 0) counts[table] = n;
  }
  return counts;
}

/** Names of the tables in the database (PostgreSQL: in the current schema). */
async function tableNames(db: RawDb): Promise<string[]> {
  const rows =
    db.kind === 'sqlite'
      ? await db.rows(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
      : await db.rows(
          `SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')`,
        );
  return rows.map((r) => String(r[0]));
}

/** The Agentry tables present in the database, in creation order. */
export async function presentAgentryTables(db: RawDb): Promise<string[]> {
  const present = new Set(await tableNames(db));
  return agentryTables(db.kind).filter((name) => present.has(name));
}

async function describeTable(db: RawDb, name: string): Promise<TableInfo> {
  if (db.kind === 'sqlite') {
    const info = await db.all(`SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, [name]);
    const keys = await db.rows(`SELECT DISTINCT "table" FROM pragma_foreign_key_list(?)`, [name]);
    return {
      name,
      columns: info.map((c) => String(c.name)),
      primaryKey: info
        .filter((c) => Number(c.pk) > 0)
        .sort((a, b) => Number(a.pk) - Number(b.pk))
        .map((c) => String(c.name)),
      references: keys.map((k) => String(k[0])),
    };
  }
  const oid = `(SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname = $1)`;
  const columns = await db.rows(`SELECT attname FROM pg_attribute WHERE attrelid = ${oid} AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [name]);
  const primaryKey = await db.rows(
    `SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, position)
     JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
     WHERE i.indrelid = ${oid} AND i.indisprimary ORDER BY k.position`,
    [name],
  );
  const references = await db.rows(`SELECT DISTINCT confrelid::regclass::text FROM pg_constraint WHERE conrelid = ${oid} AND contype = 'f'`, [name]);
  return {
    name,
    columns: columns.map((r) => String(r[0])),
    primaryKey: primaryKey.map((r) => String(r[0])),
    references: references.map((r) => String(r[0]).replace(/^.*\./, '').replace(/^"|"$/g, '')),
  };
}

/**
 * The Agentry tables present in the database with their columns and keys, ordered so that a
 * table comes after every table it references (creation order otherwise).
 */
export async function describeAgentryTables(db: RawDb): Promise<TableInfo[]> {
  const tables: TableInfo[] = [];
  for (const name of await presentAgentryTables(db)) tables.push(await describeTable(db, name));
  const ordered: TableInfo[] = [];
  const placed = new Set<string>();
  const place = (table: TableInfo, path: string[]): void => {
    if (placed.has(table.name) || path.includes(table.name)) return;
    for (const parent of table.references) {
      const found = tables.find((t) => t.name === parent);
      if (found && parent !== table.name) place(found, [...path, table.name]);
    }
    placed.add(table.name);
    ordered.push(table);
  };
  for (const table of tables) place(table, []);
  return ordered;
}
