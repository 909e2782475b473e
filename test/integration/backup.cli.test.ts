/**
 * `agentry backup`, `backup verify` and `restore` on bad files and bad input: a backup that was
 * changed, cut short, encrypted with another passphrase or made by a newer schema is refused
 * with the reason; bad arguments get a clear error and exit 2; a target with data is refused
 * unless `--force`, which says loudly what it drops; nothing is changed by a refusal. And a
 * backup of an older schema restores into this build's, migrated up.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditService } from '../../src/app/audit.js';
import { writeBackup, type BackupHeader } from '../../src/app/backup-file.js';
import { LATEST_SCHEMA_VERSION, MIGRATIONS } from '../../src/store/migrations.js';
import { openStore } from '../../src/store/open.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { bodyOffset, flipByte, queryAt, readTables, truncated } from '../helpers/backup.js';
import { runCliInProcess, type CliResult } from '../helpers/cli.js';
import { engineOn } from '../helpers/engine.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const PASSPHRASE = 'correct horse battery staple';
const WORKFLOWS = [{ name: 'greet', steps: { a: { transform: { text: 'hi {{ input.name }}' } } } }];

let work: { dir: string; remove: () => void };
let sourceUrl: string;
/** A gzip'd backup, an uncompressed one and an encrypted one of the same store. */
let plain: string;
let raw: string;
let sealed: string;
let passphraseFile: string;

const cli = (args: string[], env: Record<string, string> = {}) => runCliInProcess(args, { env, cwd: work.dir });

function expectRefused(result: CliResult, code: string, exit: number, message: RegExp): void {
  expect(result.code, result.stderr).toBe(exit);
  expect(result.stderr).toContain(`error [${code}]`);
  expect(result.stderr).toMatch(message);
}

beforeAll(async () => {
  work = tempDir('agentry-backup-cli-');
  const file = join(work.dir, 'source.db');
  sourceUrl = `sqlite:${file}`;
  const store = openSqliteStore(file);
  await store.migrate();
  const engine = await engineOn(store, WORKFLOWS);
  for (const name of ['Ada', 'Grace']) await engine.waitForRun((await engine.startRun('greet', { name })).id, { timeoutMs: 10_000 });
  await engine.stop();
  await store.close();
  passphraseFile = join(work.dir, 'passphrase.txt');
  writeFileSync(passphraseFile, `${PASSPHRASE}\n`);
  plain = join(work.dir, 'plain.backup');
  raw = join(work.dir, 'raw.backup');
  sealed = join(work.dir, 'sealed.backup');
  const env = { AGENTRY_DATABASE_URL: sourceUrl };
  for (const [out, extra] of [
    [plain, []],
    [raw, ['--no-gzip']],
    [sealed, ['--passphrase-file', passphraseFile]],
  ] as const) {
    const result = await cli(['backup', '--out', out, '--quiet', ...extra], env);
    expect(result.code, result.stderr).toBe(0);
  }
}, 60_000);

afterAll(() => work.remove());

describe('backup verify', () => {
  it('passes whole files: plain, uncompressed, and encrypted with the passphrase from a file, the variable or the _FILE variable', async () => {
    for (const file of [plain, raw]) {
      const result = await cli(['backup', 'verify', file, '--quiet']);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toMatch(
        /^OK: .* is a whole backup of sqlite:.*source\.db taken \S+ \(schema \d+, Agentry [^)]+\): .*, \d+ tables, [\d,]+ rows\.$/m,
      );
    }
    const ways: Array<{ args: string[]; env: Record<string, string> }> = [
      { args: ['--passphrase-file', passphraseFile], env: {} },
      { args: [], env: { AGENTRY_BACKUP_PASSPHRASE: PASSPHRASE } },
      { args: [], env: { AGENTRY_BACKUP_PASSPHRASE_FILE: passphraseFile } },
    ];
    for (const how of ways) {
      const result = await cli(['backup', 'verify', sealed, '--json', '--quiet', ...how.args], how.env);
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ ok: true, encrypted: true, compression: 'gzip', tables: { runs: 2 } });
    }
  });

  it('fails a file with one byte flipped in its body or its header, naming the damage', async () => {
    const cases: Array<[string, RegExp]> = [
      [flipByte(plain, bodyOffset(plain) + 40, join(work.dir, 'f1.backup')), /damaged|changed|does not list/],
      [flipByte(raw, -200, join(work.dir, 'f2.backup')), /damaged|checksum|changed|does not list/],
      [flipByte(plain, 20, join(work.dir, 'f3.backup')), /not an Agentry backup|format|checksum|changed/],
      // A byte of the source location: still a valid header, but the checksum covers it.
      [flipByte(raw, readFileSync(raw).indexOf('source.db'), join(work.dir, 'f4.backup')), /SHA-256 checksum/],
    ];
    for (const [file, reason] of cases) expectRefused(await cli(['backup', 'verify', file, '--quiet']), 'backup_invalid', 1, reason);
  });

  it('fails a truncated file, compressed or not', async () => {
    expectRefused(await cli(['backup', 'verify', truncated(plain, 30, join(work.dir, 't1.backup')), '--quiet']), 'backup_invalid', 1, /truncated|damaged/);
    expectRefused(await cli(['backup', 'verify', truncated(raw, 3, join(work.dir, 't2.backup')), '--quiet']), 'backup_invalid', 1, /truncated/);
    const headerOnly = truncated(raw, readFileSync(raw).length - bodyOffset(raw), join(work.dir, 't3.backup'));
    expectRefused(await cli(['backup', 'verify', headerOnly, '--quiet']), 'backup_invalid', 1, /truncated/);
  });

  it('fails an encrypted file with a wrong passphrase, a changed byte or a cut-off tag; asks for the passphrase when none is given', async () => {
    const wrong = join(work.dir, 'wrong.txt');
    writeFileSync(wrong, 'not the right passphrase\n');
    expectRefused(await cli(['backup', 'verify', sealed, '--passphrase-file', wrong]), 'backup_invalid', 1, /wrong passphrase/);
    const flipped = flipByte(sealed, -30, join(work.dir, 's1.backup'));
    expectRefused(await cli(['backup', 'verify', flipped, '--passphrase-file', passphraseFile, '--quiet']), 'backup_invalid', 1, /changed|damaged/);
    const cut = truncated(sealed, 8, join(work.dir, 's2.backup'));
    expectRefused(await cli(['backup', 'verify', cut, '--passphrase-file', passphraseFile, '--quiet']), 'backup_invalid', 1, /changed or cut short|truncated/);
    expectRefused(await cli(['backup', 'verify', sealed]), 'invalid_request', 2, /encrypted: give its passphrase/);
  });

  it('--json reports a failure as { ok: false, error } with the exit code', async () => {
    const result = await cli(['backup', 'verify', truncated(raw, 3, join(work.dir, 't4.backup')), '--json', '--quiet']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'backup_invalid' } });
  });

  it('--restore restores into a scratch store, checks it (readiness, audit chain, runs, expected runs) and removes it', async () => {
    const runs = await queryAt(sourceUrl, 'SELECT id FROM runs ORDER BY id');
    const ids = runs.map((r) => String(r.id));
    const tmp = join(work.dir, 'scratch');
    mkdirSync(tmp, { recursive: true });
    const env = { TMPDIR: tmp };
    const ok = await cli(['backup', 'verify', sealed, '--restore', '--expect-run', ...ids, '--passphrase-file', passphraseFile, '--json'], env);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as Record<string, unknown>;
    expect(report).toMatchObject({
      ok: true,
      readiness: { ready: true, failing: [] },
      audit: { ok: true, broken: null },
      runs: { total: 2, by_status: { succeeded: 2 } },
      expected_runs: Object.fromEntries(ids.map((id) => [id, true])),
    });
    const missing = await cli(['backup', 'verify', plain, '--restore', '--expect-run', 'run_00000000000000000000000000'], env);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toMatch(/^FAIL run run_00000000000000000000000000: not in the backup$/m);
    expect(missing.stdout).toMatch(/^FAILED: see the checks above\.$/m);
    const damaged = await cli(['backup', 'verify', truncated(plain, 40, join(work.dir, 'cut-restore.backup')), '--restore', '--json'], env);
    expect(damaged.code).toBe(1);
    expect(JSON.parse(damaged.stdout)).toMatchObject({ ok: false, error: { code: 'backup_invalid' } });
    // The scratch stores are made in $TMPDIR (one that does not exist fails), and removed.
    expect(readdirSync(tmp)).toEqual([]);
    const nowhere = await cli(['backup', 'verify', plain, '--restore'], { TMPDIR: join(work.dir, 'no-such-dir') });
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toContain('ENOENT');
  });

  it('refuses a backup of a newer schema than this build, naming both versions, and restores nothing', async () => {
    const newer = join(work.dir, 'newer.backup');
    const header: BackupHeader = {
      format: 'agentry-backup',
      format_version: 1,
      agentry_version: '99.0.0',
      schema_version: LATEST_SCHEMA_VERSION + 1,
      created_at: new Date().toISOString(),
      source: { dialect: 'sqlite', location: 'sqlite:/elsewhere.db' },
      tables: [{ name: 'runs', columns: ['id'], rows: 0 }],
      compression: 'none',
      encryption: null,
      checksum: 'sha256',
    };
    await writeBackup(newer, header, undefined, (async function* () {})());
    const message = new RegExp(`schema version ${LATEST_SCHEMA_VERSION + 1} .*up to schema version ${LATEST_SCHEMA_VERSION}`);
    expectRefused(await cli(['backup', 'verify', newer]), 'schema_too_new', 1, message);
    const target = join(work.dir, 'never.db');
    expectRefused(await cli(['restore', newer, '--to', `sqlite:${target}`]), 'schema_too_new', 1, message);
    expect(existsSync(target)).toBe(false);
  });
});

describe('backup: bad input', () => {
  it('needs --out', async () => {
    const result = await cli(['backup'], { AGENTRY_DATABASE_URL: sourceUrl });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/required option '--out <file>'/);
  });

  it('refuses a path it cannot write, an existing file without --force, a missing store and a short passphrase; writes nothing', async () => {
    const before = readdirSync(work.dir).sort();
    const env = { AGENTRY_DATABASE_URL: sourceUrl };
    expectRefused(await cli(['backup', '--out', join(work.dir, 'no-such-dir', 'x.backup')], env), 'invalid_request', 2, /cannot write .*does not exist/);
    // Under a regular file: no directory can be made there, even by root.
    expectRefused(await cli(['backup', '--out', join(plain, 'x.backup')], env), 'invalid_request', 2, /cannot write .*ENOTDIR/);
    const readOnly = join(work.dir, 'read-only');
    mkdirSync(readOnly, { mode: 0o555 });
    if (process.getuid?.() !== 0) expectRefused(await cli(['backup', '--out', join(readOnly, 'x.backup')], env), 'invalid_request', 2, /cannot write .*EACCES/);
    expectRefused(await cli(['backup', '--out', plain], env), 'invalid_request', 2, /already exists; .*--force/);
    expectRefused(
      await cli(['backup', '--out', 'x.backup'], { AGENTRY_DATABASE_URL: `sqlite:${join(work.dir, 'nothing.db')}` }),
      'not_found',
      2,
      /no store at/,
    );
    expectRefused(await cli(['backup', '--out', 'x.backup'], { ...env, AGENTRY_BACKUP_PASSPHRASE: 'short' }), 'invalid_request', 2, /at least 12 characters/);
    expect(readdirSync(work.dir).sort()).toEqual([...before, 'read-only'].sort());
  });

  it('--force replaces an existing file', async () => {
    const out = join(work.dir, 'again.backup');
    writeFileSync(out, 'old');
    const result = await cli(['backup', '--out', out, '--force', '--json', '--quiet'], { AGENTRY_DATABASE_URL: sourceUrl });
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ file: out, tables: { runs: 2 }, encrypted: false });
    expect((await cli(['backup', 'verify', out, '--quiet'])).code).toBe(0);
  });
});

describe('restore: bad input and targets with data', () => {
  it('needs --to, a database URL it understands, and a file that exists; creates nothing', async () => {
    let result = await cli(['restore', plain]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/required option '--to <database-url>'/);
    expectRefused(await cli(['restore', plain, '--to', 'mysql://db/agentry']), 'invalid_request', 2, /not a supported database URL/);
    expectRefused(await cli(['restore', plain, '--to', 'sqlite::memory:']), 'invalid_request', 2, /sqlite::memory:/);
    result = await cli(['restore', join(work.dir, 'missing.backup'), '--to', `sqlite:${join(work.dir, 'r.db')}`]);
    expectRefused(result, 'not_found', 2, /cannot read backup .*missing\.backup/);
    expect(existsSync(join(work.dir, 'r.db'))).toBe(false);
  });

  it('refuses a target with data unless --force, which warns and replaces it', async () => {
    const target = `sqlite:${join(work.dir, 'busy.db')}`;
    expect((await cli(['restore', plain, '--to', target, '--quiet'])).code).toBe(0);
    const before = await readTables(target);
    const refused = await cli(['restore', raw, '--to', target, '--quiet']);
    expectRefused(refused, 'store_not_empty', 2, /is not empty \(2 runs, 1 audit entry\); .*--force/);
    expect(await readTables(target)).toEqual(before);

    const forced = await cli(['restore', raw, '--to', target, '--force', '--json', '--quiet'], { USER: 'restorer' });
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stderr).toMatch(
      /^WARNING: --force: dropping every Agentry table in sqlite:.*busy\.db \(2 runs, 1 audit entry\) before restoring; that data is gone$/m,
    );
    expect(JSON.parse(forced.stdout)).toMatchObject({
      tables: { runs: 2 },
      dropped_tables: expect.arrayContaining(['runs', 'audit_log', 'schema_migrations']),
    });
    // One restore entry: the first restore's was dropped with the rest.
    const restores = await queryAt(target, `SELECT principal FROM audit_log WHERE action = 'store.restore'`);
    expect(restores).toEqual([{ principal: 'restorer' }]);
  });

  it.runIf(hasPostgres)('refuses a PostgreSQL target whose workers beat in the last minute, even with --force', async () => {
    const db = await createTestDatabase();
    try {
      const store = openStore(db.url);
      await store.upsertWorker({
        id: 'w_live',
        host: 'another-host',
        pid: 4242,
        roles: ['worker'],
        concurrency: 4,
        startedAt: Date.now(),
        heartbeatAt: Date.now(),
      });
      await store.close();
      const result = await cli(['restore', plain, '--to', db.url, '--force', '--quiet']);
      expectRefused(result, 'store_in_use', 1, /1 Agentry process\(es\) beat in the last minute \(worker w_live, pid 4242 on another-host\)/);
      expect(await queryAt(db.url, 'SELECT count(*)::int AS n FROM runs')).toEqual([{ n: 0 }]);
    } finally {
      await db.drop();
    }
  });
});

describe.runIf(hasPostgres)('restore into PostgreSQL while another restore runs', () => {
  it('is refused, and the database is left as it was', async () => {
    const db = await createTestDatabase('agentry_t_', { empty: true });
    const other = new pg.Client({ connectionString: db.url });
    try {
      await other.connect();
      // What a restore in another process holds for as long as it runs.
      await other.query('SELECT pg_advisory_lock(4216734003)');
      expectRefused(await cli(['restore', plain, '--to', db.url, '--quiet']), 'store_in_use', 1, /another agentry restore into .* is running/);
      expect(await queryAt(db.url, `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = current_schema()`)).toEqual([{ n: 0 }]);
    } finally {
      await other.end();
      await db.drop();
    }
  });
});

describe('restore of an older schema', () => {
  it('creates the backup’s schema, loads it, then migrates up; the backup left its source as it was', async () => {
    const from = 12;
    const file = join(work.dir, 'old.db');
    const store = openSqliteStore(file);
    await store.migrate({ to: from });
    await store.close();
    const db = new Database(file);
    db.prepare(
      `INSERT INTO runs (id, tenant_id, workflow, spec_hash, spec, status, input, output, priority, created_at, started_at, finished_at, updated_at, event_seq, created_by)
       VALUES ('run_old', 'default', 'old', 'h', '{"name":"old"}', 'succeeded', '{"ü":1}', '"done"', 0, 1000, 1001, 1002, 1002, 2, 'ops')`,
    ).run();
    db.prepare(
      `INSERT INTO events (run_id, seq, type, step_id, data, at) VALUES ('run_old', 1, 'run.created', NULL, '{}', 1000), ('run_old', 2, 'run.succeeded', NULL, '{}', 1002)`,
    ).run();
    db.close();
    const out = join(work.dir, 'old.backup');
    const backup = await cli(['backup', '--out', out, '--json', '--quiet'], { AGENTRY_DATABASE_URL: `sqlite:${file}` });
    expect(backup.code, backup.stderr).toBe(0);
    expect(JSON.parse(backup.stdout)).toMatchObject({ schema_version: from, tables: { runs: 1, events: 2 } });
    expect(await queryAt(`sqlite:${file}`, 'SELECT MAX(version) AS v FROM schema_migrations')).toEqual([{ v: from }]);

    const targets = [`sqlite:${join(work.dir, 'old-restored.db')}`];
    const drops: Array<() => Promise<void>> = [];
    if (hasPostgres) {
      const pg = await createTestDatabase('agentry_t_', { empty: true });
      targets.push(pg.url);
      drops.push(pg.drop);
    }
    try {
      for (const target of targets) {
        const restore = await cli(['restore', out, '--to', target, '--json', '--quiet'], { USER: 'restorer' });
        expect(restore.code, restore.stderr).toBe(0);
        const expected = MIGRATIONS.map((m) => m.version).filter((v) => v > from);
        expect(JSON.parse(restore.stdout)).toMatchObject({
          schema: { restored: from, current: LATEST_SCHEMA_VERSION, applied: expected },
          tables: { runs: 1, events: 2 },
        });
        const [run] = await queryAt(target, `SELECT id, input, trace_context, created_at FROM runs`);
        expect(run).toEqual({ id: 'run_old', input: '{"ü":1}', trace_context: null, created_at: 1000 });
        const migrated = await queryAt(
          target,
          `SELECT target, principal FROM audit_log WHERE action = 'store.migrate' AND principal = 'restorer' ORDER BY seq`,
        );
        expect(migrated).toEqual(expected.map((v) => ({ target: `schema:${v}`, principal: 'restorer' })));
        const restored = openStore(target);
        try {
          expect(await new AuditService(restored).verify()).toMatchObject({ ok: true, broken: null });
        } finally {
          await restored.close();
        }
      }
    } finally {
      for (const drop of drops) await drop();
    }
  });
});
