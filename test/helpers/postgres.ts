/**
 * Fresh PostgreSQL databases for tests, cloned from a migrated template
 * (`CREATE DATABASE agentry_t_<random> TEMPLATE agentry_template_<schema hash>`), dropped afterwards.
 *
 * The server is `AGENTRY_TEST_DATABASE_URL` (default postgres://postgres@127.0.0.1:5432/postgres,
 * a maintenance database the tests connect to for CREATE/DROP DATABASE). The template is
 * (re)built once per process when its schema fingerprint (a hash of every migration) does not
 * match, under an advisory lock so parallel test processes build it once; clones take the
 * same lock, since PostgreSQL refuses to clone a template another session is connected to.
 */
import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openPostgresStore } from '../../src/store/postgres.js';

export const PG_ADMIN_URL = process.env.AGENTRY_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const SCHEMA_HASH = createHash('sha256').update(JSON.stringify(MIGRATIONS)).digest('hex').slice(0, 16);
/**
 * Named by the schema's hash: test processes of builds with different migrations (branches
 * tested side by side on one server) each clone their own template instead of rebuilding a
 * shared one under each other's feet.
 */
const TEMPLATE = `agentry_template_${SCHEMA_HASH}`;
const LOCK_KEY = 4_216_734_002;
const FINGERPRINT = `agentry schema ${SCHEMA_HASH}`;

/** The URL of database `name` on the test server. */
export function pgUrl(name: string, base = PG_ADMIN_URL): string {
  const url = new URL(base);
  url.pathname = `/${name}`;
  return url.href;
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>, url = PG_ADMIN_URL): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** True when the test server answers; the reason otherwise. */
export async function probePostgres(): Promise<true | string> {
  try {
    await withAdmin((c) => c.query('SELECT 1'));
    return true;
  } catch (error) {
    return (error as Error).message || String(error);
  }
}

let templateReady: Promise<void> | undefined;

async function buildTemplate(admin: pg.Client): Promise<void> {
  const found = await admin.query<{ comment: string | null }>(`SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`, [
    TEMPLATE,
  ]);
  if (found.rows[0]?.comment === FINGERPRINT) return;
  if (found.rows.length > 0) {
    await admin.query(`ALTER DATABASE ${TEMPLATE} IS_TEMPLATE false`).catch(() => undefined);
    await admin.query(`DROP DATABASE ${TEMPLATE} WITH (FORCE)`);
  }
  await admin.query(`CREATE DATABASE ${TEMPLATE}`);
  const store = openPostgresStore(pgUrl(TEMPLATE), { poolSize: 2 });
  try {
    await store.migrate();
  } finally {
    await store.close();
  }
  await admin.query(`ALTER DATABASE ${TEMPLATE} IS_TEMPLATE true`);
  await admin.query(`COMMENT ON DATABASE ${TEMPLATE} IS '${FINGERPRINT}'`);
}

/** Creates a fresh, migrated database; returns its name and URL and a function that drops it. */
export async function createTestDatabase(
  prefix = 'agentry_t_',
  options: { empty?: boolean } = {},
): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const name = `${prefix}${randomBytes(6).toString('hex')}`;
  // An empty database (no migration applied), for tests of the migrations themselves.
  if (options.empty === true) {
    await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`));
    return { name, url: pgUrl(name), drop: () => dropTestDatabase(name) };
  }
  await withAdmin(async (admin) => {
    await admin.query('SELECT pg_advisory_lock($1::bigint)', [LOCK_KEY]);
    try {
      templateReady ??= buildTemplate(admin);
      await templateReady.catch((error: unknown) => {
        templateReady = undefined;
        throw error;
      });
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE}`);
    } finally {
      await admin.query('SELECT pg_advisory_unlock($1::bigint)', [LOCK_KEY]);
    }
  });
  return { name, url: pgUrl(name), drop: () => dropTestDatabase(name) };
}

/** Drops a test database, ending its sessions first. */
export async function dropTestDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}
