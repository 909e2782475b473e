/**
 * The schema a migrated database has, as deterministic DDL text: what
 * `docs/operations/schema.<dialect>.sql` holds, so that a reviewer sees what a migration
 * does to the tables. `scripts/dump-schema.ts` (`npm run schema:dump`) writes those files;
 * `test/integration/store.schema.test.ts` fails when they differ from what
 * `migrations.ts` produces.
 *
 * Both dialects are read from their catalogs (no `pg_dump` needed) and printed the same
 * way: tables by name, each with its columns in declaration order, then its primary key,
 * unique and foreign keys; then the indexes by name, each on one line; then the triggers (and
 * on PostgreSQL the functions they call) by name, each on one line.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { LATEST_SCHEMA_VERSION } from './migrations.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { StoreKind } from './store-types.js';

/** Where each dialect's dump is committed, relative to the repository root. */
export const SCHEMA_DUMP_FILES: Readonly<Record<StoreKind, string>> = {
  sqlite: 'docs/operations/schema.sqlite.sql',
  postgres: 'docs/operations/schema.postgres.sql',
};

/** The command that regenerates the committed dumps. */
export const SCHEMA_DUMP_COMMAND = 'npm run schema:dump';

const DIALECT_NAMES: Readonly<Record<StoreKind, string>> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

interface TableSchema {
  name: string;
  /** `name TYPE [NOT NULL] [DEFAULT …]`, in declaration order. */
  columns: string[];
  /** `PRIMARY KEY (…)`, `UNIQUE (…)`, `FOREIGN KEY (…) REFERENCES …`. */
  constraints: string[];
}

interface IndexSchema {
  name: string;
  definition: string;
}

function column(name: string, type: string, notNull: boolean, defaultValue: string | null): string {
  return [name, type, notNull ? 'NOT NULL' : '', defaultValue === null ? '' : `DEFAULT ${defaultValue}`].filter(Boolean).join(' ');
}

/** Runs of whitespace (the migrations' indentation) become one space. */
function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

function byName<T extends { name: string }>(a: T, b: T): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function render(kind: StoreKind, tables: TableSchema[], indexes: IndexSchema[], triggers: IndexSchema[]): string {
  const lines = [
    `-- The schema Agentry's migrations (src/store/migrations.ts, version ${LATEST_SCHEMA_VERSION}) produce on ${DIALECT_NAMES[kind]}.`,
    `-- Generated from a freshly migrated database by \`${SCHEMA_DUMP_COMMAND}\`; do not edit by hand.`,
    '-- test/integration/store.schema.test.ts fails when this file is out of date.',
  ];
  for (const table of [...tables].sort(byName)) {
    lines.push('', `CREATE TABLE ${table.name} (`);
    const body = [...table.columns, ...table.constraints];
    body.forEach((line, i) => lines.push(`  ${line}${i < body.length - 1 ? ',' : ''}`));
    lines.push(');');
  }
  lines.push('');
  for (const index of [...indexes].sort(byName)) lines.push(`${index.definition};`);
  if (triggers.length > 0) lines.push('');
  for (const trigger of [...triggers].sort(byName)) lines.push(`${trigger.definition};`);
  return `${lines.join('\n')}\n`;
}

/** The schema of the SQLite database in `file` (opened read-only). */
export function dumpSqliteSchema(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const names = db
      .prepare<[], { name: string }>(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`)
      .all()
      .map((t) => t.name);
    const tables = names.map((name): TableSchema => {
      const info = db
        .prepare<[string], { name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(
          'SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?) ORDER BY cid',
        )
        .all(name);
      const constraints: string[] = [];
      const primaryKey = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
      if (primaryKey.length > 0) constraints.push(`PRIMARY KEY (${primaryKey.map((c) => c.name).join(', ')})`);
      const uniques = db.prepare<[string], { name: string }>(`SELECT name FROM pragma_index_list(?) WHERE origin = 'u' ORDER BY name`).all(name);
      for (const unique of uniques) {
        const cols = db.prepare<[string], { name: string }>('SELECT name FROM pragma_index_info(?) ORDER BY seqno').all(unique.name);
        constraints.push(`UNIQUE (${cols.map((c) => c.name).join(', ')})`);
      }
      const keys = db
        .prepare<[string], { id: number; table: string; from: string; to: string; on_update: string; on_delete: string }>(
          'SELECT id, "table", "from", "to", on_update, on_delete FROM pragma_foreign_key_list(?) ORDER BY id, seq',
        )
        .all(name);
      for (const id of [...new Set(keys.map((k) => k.id))]) {
        const parts = keys.filter((k) => k.id === id);
        const first = parts[0]!;
        const actions = [
          first.on_update === 'NO ACTION' ? '' : ` ON UPDATE ${first.on_update}`,
          first.on_delete === 'NO ACTION' ? '' : ` ON DELETE ${first.on_delete}`,
        ].join('');
        constraints.push(`FOREIGN KEY (${parts.map((k) => k.from).join(', ')}) REFERENCES ${first.table}(${parts.map((k) => k.to).join(', ')})${actions}`);
      }
      return { name, columns: info.map((c) => column(c.name, c.type, c.notnull === 1, c.dflt_value)), constraints };
    });
    // Indexes a constraint makes itself (sqlite_autoindex_*) have no SQL; the table shows their constraint.
    const indexes = db
      .prepare<[], { name: string; sql: string }>(`SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL`)
      .all()
      .map((i) => ({ name: i.name, definition: oneLine(i.sql) }));
    const triggers = db
      .prepare<[], { name: string; sql: string }>(`SELECT name, sql FROM sqlite_master WHERE type = 'trigger'`)
      .all()
      .map((t) => ({ name: t.name, definition: oneLine(t.sql) }));
    return render('sqlite', tables, indexes, triggers);
  } finally {
    db.close();
  }
}

/** Constraints in this order, then by definition; not-null constraints (PostgreSQL 18+) are shown on their columns. */
const CONSTRAINT_ORDER: Readonly<Record<string, number>> = { p: 0, u: 1, f: 2, c: 3, x: 4 };

/** The schema of the current schema (`public`) of the PostgreSQL database at `url`. */
export async function dumpPostgresSchema(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const schema = (await client.query<{ s: string }>('SELECT current_schema() AS s')).rows[0]!.s;
    const found = await client.query<{ oid: number; name: string }>(
      `SELECT c.oid, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')`,
      [schema],
    );
    const tables: TableSchema[] = [];
    for (const table of found.rows) {
      const columns = await client.query<{ name: string; type: string; notnull: boolean; dflt: string | null }>(
        `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS notnull,
                pg_get_expr(d.adbin, d.adrelid) AS dflt
         FROM pg_attribute a LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
         WHERE a.attrelid = $1 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`,
        [table.oid],
      );
      const constraints = await client.query<{ type: string; def: string }>(
        `SELECT contype AS type, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE conrelid = $1 AND contype <> 'n'`,
        [table.oid],
      );
      tables.push({
        name: table.name,
        columns: columns.rows.map((c) => column(c.name, c.type, c.notnull, c.dflt)),
        constraints: constraints.rows
          .sort((a, b) => (CONSTRAINT_ORDER[a.type] ?? 9) - (CONSTRAINT_ORDER[b.type] ?? 9) || (a.def < b.def ? -1 : a.def > b.def ? 1 : 0))
          .map((c) => c.def),
      });
    }
    // Indexes a constraint owns (primary keys, unique constraints) are shown as the constraint.
    const indexes = await client.query<{ name: string; def: string }>(
      `SELECT i.relname AS name, pg_get_indexdef(x.indexrelid) AS def
       FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_namespace n ON n.oid = i.relnamespace
       WHERE n.nspname = $1 AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)`,
      [schema],
    );
    const unqualified = (def: string) => def.split(` ON ${schema}.`).join(' ON ').split(` FUNCTION ${schema}.`).join(' FUNCTION ');
    const triggers = await client.query<{ name: string; def: string }>(
      `SELECT t.tgname AS name, pg_get_triggerdef(t.oid) AS def
       FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       WHERE n.nspname = $1 AND NOT t.tgisinternal
       UNION ALL
       SELECT p.proname AS name, pg_get_functiondef(p.oid) AS def
       FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.prokind = 'f'`,
      [schema],
    );
    return render(
      'postgres',
      tables,
      indexes.rows.map((i) => ({ name: i.name, definition: unqualified(i.def) })),
      triggers.rows.map((t) => ({ name: t.name, definition: unqualified(oneLine(t.def)) })),
    );
  } finally {
    await client.end();
  }
}

/** Migrates a new SQLite file in a temporary directory and returns its schema dump. */
export async function dumpFreshSqliteSchema(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'agentry-schema-'));
  try {
    const file = join(dir, 'schema.db');
    const store = openSqliteStore(file);
    try {
      await store.migrate();
    } finally {
      await store.close();
    }
    return dumpSqliteSchema(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Migrates the empty PostgreSQL database at `url` and returns its schema dump. */
export async function dumpFreshPostgresSchema(url: string): Promise<string> {
  const store = openPostgresStore(url, { poolSize: 1 });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  return dumpPostgresSchema(url);
}
