import { describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import {
  reconnectDelayMs,
  commitUnknown,
  isCommitUnknown,
  isDiskFull,
  isTransient,
  storeFull,
  storeUnavailable,
  withRetry,
} from '../../src/store/transient.js';

const withCode = (code: string, message = 'x') => Object.assign(new Error(message), { code });

describe('transient database errors', () => {
  it('names connection loss, restarts, lock cycles and socket errors as transient, and nothing else', () => {
    for (const code of ['08006', '08001', '08P01', '57P01', '57P02', '57P03', '40001', '40P01', '53300', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT']) {
      expect(isTransient(withCode(code)), code).toBe(true);
    }
    for (const code of ['23505', '42P01', '28P01', '3D000', '57014', 'ENOENT']) expect(isTransient(withCode(code)), code).toBe(false);
    expect(isTransient(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isTransient(new Error('boom'))).toBe(false);
    expect(isTransient(new Error('wrapped', { cause: withCode('57P01') }))).toBe(true);
    expect(isTransient(storeUnavailable(withCode('ECONNREFUSED')))).toBe(true);
    expect(isTransient(new AgentryError('migration_failed', 'no'))).toBe(false);
    expect(storeUnavailable(withCode('ECONNREFUSED'))).toMatchObject({ code: 'store_unavailable', retryable: true });
    expect(isCommitUnknown(commitUnknown(withCode('57P01')))).toBe(true);
  });

  it('names a full disk (SQLITE_FULL, SQLSTATE 53100) as store_unavailable saying so, retryable once space is freed', () => {
    expect(isDiskFull(withCode('SQLITE_FULL', 'database or disk is full'))).toBe(true);
    expect(isDiskFull(new Error('wrapped', { cause: withCode('53100') }))).toBe(true);
    for (const code of ['SQLITE_BUSY', 'SQLITE_CORRUPT', '53300', 'ENOSPC']) expect(isDiskFull(withCode(code)), code).toBe(false);
    const error = storeFull(withCode('SQLITE_FULL', 'database or disk is full'), '/srv/agentry.db');
    expect(error).toMatchObject({ code: 'store_unavailable', retryable: true, details: { disk_full: true } });
    expect(error.message).toBe('/srv/agentry.db cannot take writes: its disk is full (database or disk is full); free space on its volume');
    expect(isTransient(error)).toBe(true);
  });

  it('backs off exponentially up to its cap, with jitter in the upper half', () => {
    expect(reconnectDelayMs(1, 100, 1000, () => 0)).toBe(50);
    expect(reconnectDelayMs(1, 100, 1000, () => 1)).toBe(100);
    expect(reconnectDelayMs(3, 100, 1000, () => 1)).toBe(400);
    expect(reconnectDelayMs(20, 100, 1000, () => 1)).toBe(1000);
  });

  it('retries transient failures a bounded number of times and rethrows other errors at once', async () => {
    let calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(withCode('ECONNREFUSED'));
        },
        { attempts: 3, baseMs: 1, maxMs: 2 },
      ),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(calls).toBe(3);
    calls = 0;
    await expect(
      withRetry(
        () => {
          calls++;
          return Promise.reject(withCode('23505'));
        },
        { attempts: 3, baseMs: 1, maxMs: 2 },
      ),
    ).rejects.toMatchObject({ code: '23505' });
    expect(calls).toBe(1);
    calls = 0;
    expect(
      await withRetry(
        (n) => {
          calls++;
          return n < 3 ? Promise.reject(withCode('40P01')) : Promise.resolve('ok');
        },
        { attempts: 5, baseMs: 1, maxMs: 2 },
      ),
    ).toBe('ok');
    expect(calls).toBe(3);
  });

  it('stops retrying at its deadline or when aborted', async () => {
    const started = Date.now();
    await expect(withRetry(() => Promise.reject(withCode('ECONNRESET')), { attempts: Infinity, baseMs: 10, maxMs: 20, deadlineMs: 150 })).rejects.toBeDefined();
    expect(Date.now() - started).toBeLessThan(1000);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(
      withRetry(() => Promise.reject(withCode('ECONNRESET')), { attempts: Infinity, baseMs: 10, maxMs: 20, signal: controller.signal }),
    ).rejects.toBeDefined();
  });
});
