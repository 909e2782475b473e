/**
 * Signing in with a managed API key, from a cache of the keys table. The cache is checked
 * against the table's revision (one tiny query) at most once per `REFRESH_MS`, on the request
 * that finds it older, and reloaded whole when the revision moved: a key created, revoked or
 * rotated in any process is seen by every process within `REFRESH_MS` plus one query, without
 * a restart (the promise is 5 s). Changes made through this process's service refresh at once.
 *
 * A presented key is looked up by the id in it, then its SHA-256 is compared in constant time.
 * Refusals carry the reason (unknown, wrong secret, revoked, expired, past its rotation grace)
 * for the server's log; the client is told only that the key is not valid.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { ApiKeyRecord } from '../types.js';
import { keyIdOfSecret } from './key-secrets.js';

/** How stale the cache may get before a request checks the revision. */
export const REFRESH_MS = 1_000;
/** `last_used_at` is written at most this often per key (and process). */
export const TOUCH_INTERVAL_MS = 60_000;

/** A managed key that signed in: who it is, in which tenant, with which grants. */
export interface ManagedKeyIdentity {
  keyId: string;
  name: string;
  tenantId: string;
  grants: readonly string[];
  /** When it stops working: its expiry, or the end of its grace after a rotate; undefined: never. */
  expiresAt: Date | undefined;
}

/** Why a presented managed key was refused (for the log, never the client). */
export type KeyRefusal = 'malformed' | 'unknown' | 'mismatch' | 'revoked' | 'expired' | 'rotated';

export type KeyAuthentication = { ok: true; key: ManagedKeyIdentity } | { ok: false; reason: KeyRefusal; keyId?: string };

interface CachedKey {
  record: ApiKeyRecord;
  hash: Buffer;
}

export class KeyCache {
  private keys = new Map<string, CachedKey>();
  private revision: number | undefined;
  private checkedAt = Number.NEGATIVE_INFINITY;
  private refreshing: Promise<void> | undefined;
  private readonly touched = new Map<string, number>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  /** The next sign-in checks the table (after a change made in this process). */
  invalidate(): void {
    this.checkedAt = Number.NEGATIVE_INFINITY;
  }

  async authenticate(secret: string): Promise<KeyAuthentication> {
    const keyId = keyIdOfSecret(secret);
    if (keyId === undefined) return { ok: false, reason: 'malformed' };
    await this.fresh();
    const cached = this.keys.get(keyId);
    // The hash is computed either way, so an unknown id costs what a wrong secret does.
    const hash = createHash('sha256').update(secret, 'utf8').digest();
    if (!cached) return { ok: false, reason: 'unknown', keyId };
    if (!timingSafeEqual(cached.hash, hash)) return { ok: false, reason: 'mismatch', keyId };
    const k = cached.record;
    const now = this.now();
    if (k.revokedAt !== null) return { ok: false, reason: 'revoked', keyId };
    if (k.expiresAt !== null && k.expiresAt <= now) return { ok: false, reason: 'expired', keyId };
    if (k.replacedBy !== null && (k.graceUntil === null || k.graceUntil <= now)) return { ok: false, reason: 'rotated', keyId };
    await this.touch(keyId, now);
    const ends = [k.expiresAt, k.replacedBy === null ? null : k.graceUntil].filter((t): t is number => t !== null);
    return {
      ok: true,
      key: { keyId, name: k.name, tenantId: k.tenantId, grants: k.grants, expiresAt: ends.length === 0 ? undefined : new Date(Math.min(...ends)) },
    };
  }

  /** Checks the revision when the cache is older than `REFRESH_MS`; concurrent requests share one check. */
  private async fresh(): Promise<void> {
    if (this.now() - this.checkedAt < REFRESH_MS) return;
    this.refreshing ??= this.refresh().finally(() => {
      this.refreshing = undefined;
    });
    await this.refreshing;
  }

  private async refresh(): Promise<void> {
    const started = this.now();
    // The revision is read before the rows: a change committed in between is in the rows, and
    // moves the revision past the one kept, so the next check reloads again (never the reverse).
    const revision = await this.store.apiKeyRevision();
    if (revision !== this.revision) {
      const records = await this.store.allApiKeys();
      this.keys = new Map(records.map((record) => [record.id, { record, hash: Buffer.from(record.secretHash, 'hex') }]));
      this.revision = revision;
    }
    this.checkedAt = started;
  }

  /**
   * Writes `last_used_at` when this process has not for `TOUCH_INTERVAL_MS`. It is a hint: a
   * failed write does not refuse the request (the next use past the interval tries again).
   */
  private async touch(keyId: string, now: number): Promise<void> {
    const last = this.touched.get(keyId);
    if (last !== undefined && now - last < TOUCH_INTERVAL_MS) return;
    this.touched.set(keyId, now);
    try {
      await this.store.touchApiKey(keyId, now);
    } catch {
      this.touched.delete(keyId);
    }
  }
}
