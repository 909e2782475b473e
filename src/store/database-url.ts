/**
 * What a database URL names, and PostgreSQL's connection defaults: the part of the store that
 * configuration reads. It imports no driver (kysely, pg, better-sqlite3 are half of a command's
 * start-up), so loading configuration does not load the store.
 */
import { resolve } from 'node:path';
import { AgentryError } from '../lib/errors.js';
import { maskSecrets } from '../lib/redact.js';

/** Where a database URL points: an SQLite file (absolute, or `:memory:`) or a PostgreSQL server. */
export type DatabaseLocation = { kind: 'sqlite'; file: string } | { kind: 'postgres'; url: string };

/**
 * Reads `sqlite:<file>` (a relative file is resolved against `cwd`; `sqlite::memory:` is a
 * throwaway store) or `postgres://…` / `postgresql://…` (see `postgres.ts` for its query
 * parameters). Throws `invalid_request` for anything else.
 */
export function parseDatabaseUrl(url: string, cwd: string = process.cwd()): DatabaseLocation {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (file === '') throw new AgentryError('invalid_request', 'sqlite URL needs a file, e.g. sqlite:.agentry/agentry.db');
    return { kind: 'sqlite', file: file === ':memory:' ? file : resolve(cwd, file) };
  }
  if (/^postgres(ql)?:\/\/[^/]/.test(url)) return { kind: 'postgres', url };
  throw new AgentryError('invalid_request', `'${maskSecrets(url)}' is not a supported database URL; use sqlite:<file> or postgres://…`);
}

/** A PostgreSQL store's connection settings when neither the URL nor the configuration sets them. */
export const POSTGRES_DEFAULTS = {
  poolSize: 10,
  statementTimeoutMs: 30_000,
  connectTimeoutMs: 10_000,
  applicationName: 'agentry',
  idleInTransactionTimeoutMs: 60_000,
  preparedStatements: true,
} as const;
