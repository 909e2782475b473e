/**
 * The database handle and the dialect seam shared by the SQL store, its modules, the
 * migrations and the two dialects (`../sqlite.ts`, `../postgres.ts`). It imports nothing of
 * the store's implementation, so every one of those can import it without a cycle.
 */
import type { Kysely, RawBuilder } from 'kysely';
import type { AttemptKey } from '../../types.js';
import type { RetryOptions } from '../transient.js';
import type { StoreKind } from '../store-types.js';

// eslint-disable-next-line @typescript-eslint/no-empty-object-type -- raw SQL only; no typed tables
export type Db = Kysely<{}>;

export interface SqlDialect {
  readonly kind: StoreKind;
  /**
   * Runs `fn` in a write transaction (SQLite: BEGIN IMMEDIATE; PostgreSQL: BEGIN) on one
   * connection. A failure while COMMIT is in flight is thrown as `commitUnknown`.
   */
  transaction<T>(db: Db, fn: (trx: Db) => Promise<T>): Promise<T>;
  /** One row, one column: the database server's clock now, in epoch milliseconds (`Store.databaseTime`). */
  readonly clockSql: RawBuilder<unknown>;
  /** Appended to the SELECT that locks a run row (`FOR UPDATE` on PostgreSQL). */
  readonly lockSuffix: string;
  /** Appended instead when the caller will not wait for it (`FOR UPDATE SKIP LOCKED`). */
  readonly skipLockedSuffix: string;
  /** Takes a lock on `key` held until the transaction ends; absent where writers are serialised (SQLite). */
  readonly keyLock?: (key: string) => RawBuilder<unknown>;
  /** How statements and transactions that fail transiently are retried (none: one try). */
  readonly retry?: Pick<RetryOptions, 'attempts' | 'baseMs' | 'maxMs'>;
  /**
   * Sends a transaction's buffered writes (rows of different keys, in any order) in as few
   * round trips as it can; without it they are sent one by one (SQLite's do not leave the process).
   */
  writeBatch?(db: Db, queries: readonly RawBuilder<unknown>[]): Promise<void>;
  /** Runs `queries` in order, in one round trip where it can; the rows of each. */
  readMany?(db: Db, queries: readonly RawBuilder<unknown>[]): Promise<Record<string, unknown>[][]>;
  /**
   * Serialises migrations across processes (advisory lock on PostgreSQL); `fn` gets the
   * connection to run them on (each migration still in its own transaction).
   */
  withMigrationLock<T>(db: Db, fn: (conn: Db) => Promise<T>): Promise<T>;
  /** One statement for the whole batch, where the dialect can (`unnest` on PostgreSQL). */
  renewLeases?(db: Db, workerId: string, keys: AttemptKey[], expiresAt: number): Promise<AttemptKey[]>;
  publishWake(db: Db): Promise<void>;
  subscribeWake(fn: () => void): () => void;
  close(db: Db): Promise<void>;
}
