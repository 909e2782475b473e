/**
 * The doctor's judgements with injected readings (times, clocks, disks, heartbeats), where the
 * real thing cannot be moved in a test: each threshold's ok side and its warn or fail side, and
 * the runner's rules (a throwing check fails alone, a missing prerequisite is a skip, a slow
 * check times out, exit codes 0/1/2).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { retentionGapWarning, shortestRetention } from '../../src/app/backup-record.js';
import { BACKUP_FAIL_MS, BACKUP_WARN_MS, DISK_FAIL_BYTES, judgeBackupAge, judgeDisk } from '../../src/app/doctor-backup.js';
import { expiringKeys, KEY_EXPIRY_WARN_MS } from '../../src/app/doctor-config.js';
import { Unavailable, type CheckDefinition } from '../../src/app/doctor-context.js';
import { CERT_WARN_MS, judgeCertificate } from '../../src/app/doctor-network.js';
import { CLOCK_FAIL_MS, CLOCK_WARN_MS, judgeClockSkew, judgeLatency, judgeWorkers, LATENCY_WARN_MS } from '../../src/app/doctor-store.js';
import { DOCTOR_CHECKS, doctorExitCode, overallStatus, runDoctor } from '../../src/app/doctor.js';
import type { RetentionSettings } from '../../src/app/config.js';
import type { CompiledWorkflow } from '../../src/spec/model.js';
import type { WorkerRecord } from '../../src/store/store.js';
import type { ApiKeyRecord } from '../../src/types.js';

const NOW = Date.parse('2026-12-05T08:00:00Z');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const GiB = 1024 ** 3;

describe('database latency', () => {
  it('is ok under the threshold and a warning over it (the median counts, not one slow round trip)', () => {
    expect(judgeLatency([0.4, 0.3, 250], 'sqlite:x').status).toBe('ok');
    const slow = judgeLatency([LATENCY_WARN_MS + 1, LATENCY_WARN_MS + 5, 3], 'postgres://db/agentry');
    expect(slow.status).toBe('warn');
    expect(slow.detail).toContain('slowly');
  });
});

describe('clock skew', () => {
  it('is ok within a second, beyond the round trip’s own uncertainty', () => {
    expect(judgeClockSkew({ before: NOW, database: NOW + 900, after: NOW + 10 }).status).toBe('ok');
    // 1.5 s off, but the query took 2 s: the reading cannot tell.
    expect(judgeClockSkew({ before: NOW, database: NOW + 2_500, after: NOW + 2_000 }).status).toBe('ok');
  });

  it('warns past a second and fails past five, either way', () => {
    const ahead = judgeClockSkew({ before: NOW, database: NOW + CLOCK_WARN_MS + 500, after: NOW });
    expect(ahead).toMatchObject({ status: 'warn' });
    expect(ahead.detail).toContain('ahead of');
    const behind = judgeClockSkew({ before: NOW, database: NOW - CLOCK_FAIL_MS - 1_000, after: NOW });
    expect(behind.status).toBe('fail');
    expect(behind.detail).toContain('behind');
  });
});

function worker(id: string, heartbeatAgoMs: number, extra: Partial<WorkerRecord> = {}): WorkerRecord {
  return {
    id,
    host: 'h1',
    pid: 1,
    roles: ['worker', 'scheduler'],
    concurrency: 4,
    startedAt: NOW - DAY,
    heartbeatAt: NOW - heartbeatAgoMs,
    drainRequestedAt: null,
    ...extra,
  };
}

describe('workers', () => {
  const stale = 90_000;

  it('is ok with a live worker, naming the stale ones', () => {
    const ok = judgeWorkers([worker('wrk_a', 1_000), worker('wrk_b', 10 * 60_000)], undefined, NOW, stale);
    expect(ok.status).toBe('ok');
    expect(ok.detail).toContain('1 live worker (wrk_a on h1)');
    expect(ok.detail).toContain('1 stale');
  });

  it('fails with none live, or only draining ones, or only other roles', () => {
    expect(judgeWorkers([], undefined, NOW, stale).status).toBe('fail');
    expect(judgeWorkers([worker('wrk_a', 10 * 60_000)], undefined, NOW, stale).status).toBe('fail');
    expect(judgeWorkers([worker('wrk_a', 1_000, { drainRequestedAt: NOW - 5_000 })], undefined, NOW, stale).status).toBe('fail');
    expect(judgeWorkers([worker('wrk_s', 1_000, { roles: ['scheduler'] })], undefined, NOW, stale).status).toBe('fail');
  });

  it('warns while the maintenance mode is on', () => {
    const on = judgeWorkers([worker('wrk_a', 1_000)], 'since 2026-12-05T07:00:00.000Z by ops', NOW, stale);
    expect(on.status).toBe('warn');
    expect(on.hint).toContain('maintenance off');
  });
});

describe('last backup age', () => {
  const last = (agoMs: number) => ({ at: NOW - agoMs, source: 'backup:a.backup recorded in the store by ops' });

  it('is ok within a day, warns past 25 hours and fails past a week', () => {
    expect(judgeBackupAge(last(2 * HOUR), NOW, undefined, 'production').status).toBe('ok');
    expect(judgeBackupAge(last(BACKUP_WARN_MS + HOUR), NOW, undefined, 'production').status).toBe('warn');
    expect(judgeBackupAge(last(BACKUP_FAIL_MS + HOUR), NOW, undefined, 'production').status).toBe('fail');
  });

  it('fails when older than the shortest retention window, naming it', () => {
    const outcome = judgeBackupAge(last(3 * HOUR), NOW, { ms: 2 * HOUR, source: 'workflow nightly retention.succeeded' }, 'development');
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('workflow nightly retention.succeeded = 2h');
  });

  it('with no backup at all: a failure in production, a warning in development', () => {
    expect(judgeBackupAge(undefined, NOW, undefined, 'production').status).toBe('fail');
    expect(judgeBackupAge(undefined, NOW, undefined, 'development').status).toBe('warn');
  });
});

describe('disk space', () => {
  it('is ok with room, warns when low, fails when nearly full or short of the next backup', () => {
    expect(judgeDisk('store /var/lib/agentry', { freeBytes: 50 * GiB, totalBytes: 100 * GiB }, GiB).status).toBe('ok');
    expect(judgeDisk('store', { freeBytes: 8 * GiB, totalBytes: 100 * GiB }, 0).status).toBe('warn');
    expect(judgeDisk('store', { freeBytes: DISK_FAIL_BYTES - 1, totalBytes: 2 * GiB }, 0).status).toBe('fail');
    expect(judgeDisk('store', { freeBytes: 3 * GiB, totalBytes: 100 * GiB }, 0).status).toBe('fail');
    const short = judgeDisk('backups /b', { freeBytes: 20 * GiB, totalBytes: 100 * GiB }, 30 * GiB);
    expect(short.status).toBe('fail');
    expect(short.detail).toContain('needed for the next backup');
  });
});

describe('TLS certificate', () => {
  it('is ok with months left, warns within two weeks, fails once expired', () => {
    expect(judgeCertificate('agentry.example.com', NOW + 90 * DAY, NOW).status).toBe('ok');
    expect(judgeCertificate('agentry.example.com', NOW + CERT_WARN_MS - DAY, NOW).status).toBe('warn');
    expect(judgeCertificate('agentry.example.com', NOW - DAY, NOW)).toMatchObject({ status: 'fail' });
  });
});

describe('managed key expiry', () => {
  const key = (name: string, expiresAt: number | null, revokedAt: number | null = null) =>
    ({ id: `key_${name}`, tenantId: 'default', name, prefix: `agk_${name}`, expiresAt, revokedAt }) as ApiKeyRecord;

  it('names the usable keys that expire within the window, soonest first', () => {
    const keys = [
      key('later', NOW + KEY_EXPIRY_WARN_MS - HOUR),
      key('soon', NOW + HOUR),
      key('far', NOW + 90 * DAY),
      key('never', null),
      key('gone', NOW - HOUR),
      key('revoked', NOW + HOUR, NOW - DAY),
    ];
    expect(expiringKeys(keys, NOW).map((k) => k.name)).toEqual(['soon', 'later']);
  });
});

describe('retention and backups (STO-14)', () => {
  const settings: RetentionSettings = {
    succeededMs: 30 * DAY,
    failedMs: undefined,
    cancelledMs: undefined,
    eventsMs: 14 * DAY,
    memoryMs: undefined,
    idempotencyKeysMs: 7 * DAY,
  };
  const workflows = [
    { name: 'nightly', retention: { succeededMs: 3 * DAY } },
    { name: 'other', retention: undefined },
  ] as unknown as CompiledWorkflow[];

  it('the shortest window is the smallest of the deployment’s and the workflows’ (idempotency keys do not count)', () => {
    expect(shortestRetention(settings, [])).toEqual({ ms: 14 * DAY, source: 'AGENTRY_RETENTION_EVENTS' });
    expect(shortestRetention(settings, workflows)).toEqual({ ms: 3 * DAY, source: 'workflow nightly retention.succeeded' });
    expect(shortestRetention({ ...settings, succeededMs: undefined, eventsMs: undefined }, [])).toBeUndefined();
  });

  it('warns when the previous backup is older than that window, and not otherwise', () => {
    const window = { ms: 3 * DAY, source: 'workflow nightly retention.succeeded' };
    expect(retentionGapWarning({ at: NOW - 4 * DAY, target: 'backup:a.backup', principal: 'ops' }, window, NOW)).toContain(
      'longer than the shortest retention window',
    );
    expect(retentionGapWarning({ at: NOW - 2 * DAY, target: 'backup:a.backup', principal: 'ops' }, window, NOW)).toBeUndefined();
    expect(retentionGapWarning(undefined, window, NOW)).toBeUndefined();
    expect(retentionGapWarning({ at: NOW - 40 * DAY, target: 'backup:a.backup', principal: 'ops' }, undefined, NOW)).toBeUndefined();
  });
});

describe('the runner', () => {
  const check = (id: string, run: CheckDefinition['run'], extra: Partial<CheckDefinition> = {}): CheckDefinition => ({
    id,
    title: id,
    docs: `docs/operations/doctor.md#${id}`,
    hint: `fix ${id}`,
    run,
    ...extra,
  });
  const options = { flags: { projectDir: '/nonexistent-doctor-project' }, env: {}, cwd: '/' };

  it('a check that throws fails alone; a missing prerequisite is a skip; a slow one times out; hints only on warn and fail', async () => {
    const report = await runDoctor(options, [
      check('ok', () => Promise.resolve({ status: 'ok', detail: 'fine' })),
      check('boom', () => Promise.reject(new Error('kaput'))),
      check('needs', () => Promise.reject(new Unavailable('the database does not answer (see database)'))),
      check('slow', () => new Promise(() => undefined), { timeoutMs: 50 }),
      check('meh', () => Promise.resolve({ status: 'warn', detail: 'so so', hint: 'own hint' })),
    ]);
    expect(report.status).toBe('fail');
    expect(report.checks.map((c) => [c.id, c.status])).toEqual([
      ['ok', 'ok'],
      ['boom', 'fail'],
      ['needs', 'skip'],
      ['slow', 'fail'],
      ['meh', 'warn'],
    ]);
    expect(report.checks[0]).not.toHaveProperty('hint');
    expect(report.checks[1]).toMatchObject({ detail: 'kaput', hint: 'fix boom', docs: 'docs/operations/doctor.md#boom' });
    expect(report.checks[2]!.detail).toBe('skipped: the database does not answer (see database)');
    expect(report.checks[3]!.detail).toContain('no answer within 0.05s');
    expect(report.checks[4]!.hint).toBe('own hint');
  });

  it('status and exit code: 0 when all are ok or skipped, 1 with a warning, 2 with a failure', () => {
    const ok = overallStatus([{ status: 'ok' }, { status: 'skip' }]);
    const warn = overallStatus([{ status: 'ok' }, { status: 'warn' }, { status: 'skip' }]);
    const fail = overallStatus([{ status: 'warn' }, { status: 'fail' }]);
    expect([ok, warn, fail]).toEqual(['ok', 'warn', 'fail']);
    expect([ok, warn, fail].map((status) => doctorExitCode({ status, checks: [] }))).toEqual([0, 1, 2]);
  });
});

describe('docs', () => {
  const repo = resolve(import.meta.dirname, '..', '..');
  /** GitHub's anchor of a heading. */
  const slug = (heading: string) =>
    heading
      .trim()
      .toLowerCase()
      .replace(/[^\w\- ]/g, '')
      .replace(/ /g, '-');

  it('every check links to an existing section, and docs/operations/doctor.md explains each by its id', () => {
    const ids = DOCTOR_CHECKS.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const check of DOCTOR_CHECKS) {
      const [file, anchor] = check.docs.split('#');
      const text = readFileSync(join(repo, file!), 'utf8');
      const anchors = [...text.matchAll(/^#+ (.+)$/gm)].map((m) => slug(m[1]!));
      expect(anchors, `${check.id}: ${check.docs}`).toContain(anchor);
    }
    const doctorDoc = readFileSync(join(repo, 'docs/operations/doctor.md'), 'utf8');
    const sections = [...doctorDoc.matchAll(/^### (\S+)$/gm)].map((m) => m[1]);
    expect(sections).toEqual(ids);
  });
});
