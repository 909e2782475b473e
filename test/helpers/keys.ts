/**
 * Managed API keys over real HTTP: a small client of `/v1/admin/keys` and `whoami`, a logger
 * that keeps its lines, and everything a database holds as text (to prove a secret is not in it).
 */
import { readFileSync, existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import pg from 'pg';
import pino, { type Logger } from 'pino';
import type { IssuedKeyDto } from '../../src/app/dto/keys.js';
import type { Store } from '../../src/store/store.js';

export const SECRET_SHAPE = /^agk_[0-9a-z]{26}_[A-Za-z0-9_-]{43}$/;

export interface HttpAnswer<T = Record<string, unknown>> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One request to `base` with `key` as the bearer; the answer's JSON parsed. */
export async function call<T = Record<string, unknown>>(
  base: string,
  path: string,
  key: string | undefined,
  options: { method?: 'GET' | 'POST'; body?: unknown } = {},
): Promise<HttpAnswer<T>> {
  const res = await fetch(`${base}${path}`, {
    method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
    // No keep-alive: a pooled connection left open would count as a leak after the test.
    headers: {
      connection: 'close',
      ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text === '' ? {} : JSON.parse(text)) as T, text };
}

/** Creates a key as `admin` (a bootstrap or managed admin key); fails the test unless it is 201. */
export async function createKey(
  base: string,
  admin: string,
  body: { name: string; roles: string[]; expires_in?: string },
  tenant?: string,
): Promise<IssuedKeyDto> {
  const res = await call<IssuedKeyDto>(base, `/v1/admin/keys${tenant === undefined ? '' : `?tenant=${tenant}`}`, admin, { body });
  if (res.status !== 201) throw new Error(`creating key ${body.name}: ${res.status} ${res.text}`);
  return res.body;
}

/** The status `GET /v1/auth/whoami` answers for `key`. */
export async function whoamiStatus(base: string, key: string): Promise<number> {
  return (await call(base, '/v1/auth/whoami', key)).status;
}

/** A pino logger at `info` whose lines are kept in `lines`. */
export function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      lines.push(
        ...chunk
          .toString()
          .split('\n')
          .filter((l) => l !== ''),
      );
      done();
    },
  });
  return { logger: pino({ level: 'info' }, stream), lines };
}

/**
 * Everything the store's database holds, as text: a SQLite file's bytes (with its WAL), or every
 * row of every table of a PostgreSQL database.
 */
export async function databaseText(store: Store): Promise<string> {
  if (store.location.startsWith('sqlite:')) {
    const file = store.location.slice('sqlite:'.length);
    return [file, `${file}-wal`]
      .filter((f) => existsSync(f))
      .map((f) => readFileSync(f).toString('latin1'))
      .join('\n');
  }
  const client = new pg.Client({ connectionString: store.location });
  await client.connect();
  try {
    const tables = await client.query<{ name: string }>(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`);
    const parts: string[] = [];
    for (const { name } of tables.rows) {
      const rows = await client.query<{ row: string }>(`SELECT t::text AS row FROM "${name}" t`);
      parts.push(...rows.rows.map((r) => r.row));
    }
    return parts.join('\n');
  } finally {
    await client.end();
  }
}
