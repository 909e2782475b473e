/**
 * The committed schema dumps (docs/operations/schema.<dialect>.sql) are what the migrations
 * produce: a new SQLite file and a new PostgreSQL database are migrated and dumped, and a
 * dump that differs fails with the diff and the command that regenerates it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { dumpFreshPostgresSchema, dumpFreshSqliteSchema, SCHEMA_DUMP_COMMAND, SCHEMA_DUMP_FILES } from '../../src/store/schema-dump.js';
import type { StoreKind } from '../../src/store/store.js';
import { dropTestDatabase, PG_ADMIN_URL, pgUrl } from '../helpers/postgres.js';
import { hasPostgres } from '../helpers/store.js';

const root = join(import.meta.dirname, '..', '..');

function expectCommittedDump(kind: StoreKind, migrated: string): void {
  const file = SCHEMA_DUMP_FILES[kind];
  const path = join(root, file);
  const committed = existsSync(path) ? readFileSync(path, 'utf8') : '';
  // The message leads the diff vitest prints ("- Expected" is the committed file, "+ Received" the migrations' result).
  expect(migrated, `${file} does not match what the migrations produce; regenerate it with \`${SCHEMA_DUMP_COMMAND}\``).toBe(committed);
}

describe('schema dumps', () => {
  it('docs/operations/schema.sqlite.sql is the schema a freshly migrated SQLite file has', async () => {
    expectCommittedDump('sqlite', await dumpFreshSqliteSchema());
  });

  // Skipped without a PostgreSQL server, except under CI=true, where `hasPostgres` fails the file.
  it.runIf(hasPostgres)('docs/operations/schema.postgres.sql is the schema a freshly migrated PostgreSQL database has', async () => {
    const name = `agentry_t_schema_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    try {
      expectCommittedDump('postgres', await dumpFreshPostgresSchema(pgUrl(name)));
    } finally {
      await dropTestDatabase(name);
    }
  });
});
