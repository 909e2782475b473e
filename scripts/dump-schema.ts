/**
 * Rewrites the committed schema dumps (`npm run schema:dump`): migrates a new SQLite file and
 * a new PostgreSQL database, and writes what each holds to `docs/operations/schema.<dialect>.sql`
 * (see src/store/schema-dump.ts). PostgreSQL is the test server, `AGENTRY_TEST_DATABASE_URL`
 * (default postgres://postgres@127.0.0.1:5432/postgres); a throwaway database is created there
 * and dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { dumpFreshPostgresSchema, dumpFreshSqliteSchema, SCHEMA_DUMP_FILES } from '../src/store/schema-dump.js';
import { dropTestDatabase, PG_ADMIN_URL, pgUrl } from '../test/helpers/postgres.js';

const root = join(import.meta.dirname, '..');

async function postgresDump(): Promise<string> {
  const name = `agentry_schema_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5_000 });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  try {
    return await dumpFreshPostgresSchema(pgUrl(name));
  } finally {
    await dropTestDatabase(name);
  }
}

const dumps = { sqlite: await dumpFreshSqliteSchema(), postgres: await postgresDump() };
for (const [kind, text] of Object.entries(dumps) as Array<[keyof typeof dumps, string]>) {
  writeFileSync(join(root, SCHEMA_DUMP_FILES[kind]), text);
  console.log(`wrote ${SCHEMA_DUMP_FILES[kind]}`);
}
