/**
 * `agentry db check` and `agentry db recover` on real SQLite files damaged on purpose (a page of
 * a table overwritten, the header overwritten), and what a server does on such a file: one
 * ERROR log line naming SQLITE_CORRUPT and the file, exit 1 — and it starts on an empty store
 * once the damaged one is moved aside (on the recovered file: the runbook's drill). `db check` on PostgreSQL: a
 * connection and the schema, and a port nothing listens on.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkSqliteFile } from '../../src/store/sqlite-check.js';
import { openSqliteStore } from '../../src/store/sqlite.js';
import { queryAt } from '../helpers/backup.js';
import { killAll, runCli, runCliInProcess, startCli, waitForOutput } from '../helpers/cli.js';
import { engineOn } from '../helpers/engine.js';
import { writeProject } from '../helpers/pg-processes.js';
import { createTestDatabase } from '../helpers/postgres.js';
import { damageHeader, damageTablePage } from '../helpers/sqlite-damage.js';
import { hasPostgres, tempDir } from '../helpers/store.js';

const WORKFLOW = {
  name: 'chatty',
  input: { schema: { type: 'object', properties: { n: { type: 'integer' } } } },
  steps: {
    a: { transform: { n: '{{ input.n }}', pad: 'x'.repeat(200) } },
    b: { needs: ['a'], transform: { n: '{{ steps.a.output.n }}', pad: 'y'.repeat(200) } },
    c: { needs: ['b'], transform: '{{ steps.b.output.n }}' },
  },
};
const RUNS = 40;

let work: { dir: string; remove: () => void };
let project: string;
/** The sound store every test copies. */
let pristine: Buffer;
let runIds: string[];
let events: number;

afterEach(() => killAll());
afterAll(() => work.remove());

beforeAll(async () => {
  work = tempDir('agentry-db-check-');
  project = writeProject(work.dir, [WORKFLOW]);
  const file = join(work.dir, 'pristine.db');
  const store = openSqliteStore(file);
  await store.migrate();
  const engine = await engineOn(store, [WORKFLOW]);
  runIds = [];
  for (let n = 0; n < RUNS; n++) runIds.push((await engine.startRun('chatty', { n })).id);
  for (const id of runIds) await engine.waitForRun(id, { timeoutMs: 20_000 });
  await engine.stop();
  await store.close();
  events = Number((await queryAt(`sqlite:${file}`, 'SELECT count(*) AS n FROM events'))[0]!.n);
  pristine = readFileSync(file);
}, 60_000);

let copies = 0;
/** A fresh copy of the sound store under the project's `.agentry/`, in a directory of its own. */
function storeCopy(): { dir: string; file: string } {
  const dir = join(work.dir, `copy-${++copies}`);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'agentry.db');
  writeFileSync(file, pristine);
  return { dir, file };
}

const cli = (args: string[], file: string) => runCliInProcess(args, { env: { AGENTRY_DATABASE_URL: `sqlite:${file}` }, cwd: work.dir });

describe('agentry db check', () => {
  it('passes a sound store and names its schema and row counts', async () => {
    const { file } = storeCopy();
    const result = await cli(['db', 'check'], file);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^ok {3}integrity: PRAGMA quick_check: ok$/m);
    expect(result.stdout).toMatch(new RegExp(`^ok {3}schema: at migration \\d+ \\(latest\\); \\d+ tables; runs ${RUNS}, `, 'm'));
    const json = await cli(['db', 'check', '--full', '--json'], file);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: true,
      kind: 'sqlite',
      checks: [{ name: 'file' }, { name: 'integrity', ok: true, detail: 'PRAGMA integrity_check: ok' }, { name: 'schema', ok: true }],
    });
  });

  it('fails a store with a damaged page, naming SQLITE_CORRUPT and what SQLite found (exit 1)', async () => {
    const { file } = storeCopy();
    damageTablePage(file, 'events');
    const result = await cli(['db', 'check'], file);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL integrity: SQLITE_CORRUPT: PRAGMA quick_check found: .*(malformed|page \d+)/m);
    const json = JSON.parse((await cli(['db', 'check', '--json'], file)).stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean }> };
    expect(json.ok).toBe(false);
    expect(json.checks.find((c) => c.name === 'integrity')?.ok).toBe(false);
  });

  it('names SQLITE_NOTADB for a file whose header is gone; recover refuses it (store_corrupt)', async () => {
    const { dir, file } = storeCopy();
    damageHeader(file);
    const result = await cli(['db', 'check'], file);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^FAIL integrity: SQLITE_NOTADB: /m);
    const recover = await cli(['db', 'recover', '--out', join(dir, 'out.sqlite')], file);
    expect(recover.code).toBe(1);
    expect(recover.stderr).toMatch(/error \[store_corrupt\]: .*cannot be (opened|read).*restore the newest backup/);
    expect(existsSync(join(dir, 'out.sqlite'))).toBe(false);
  });
});

describe('agentry db recover', () => {
  it('saves the damaged file and rebuilds what can be read into a file that passes integrity_check, every run there', async () => {
    const { dir, file } = storeCopy();
    damageTablePage(file, 'events');
    const damaged = readFileSync(file);
    const out = join(dir, 'recovered.sqlite');
    const result = await cli(['db', 'recover', '--out', out, '--json'], file);
    expect(result.code, result.stderr).toBe(0);
    const summary = JSON.parse(result.stdout) as { saved: string[]; tables: Record<string, number>; lost: Array<{ table: string }>; integrity: string };
    // The original is copied aside first, byte for byte, and left as it was.
    expect(summary.saved).toHaveLength(1);
    expect(readFileSync(summary.saved[0]!).equals(damaged)).toBe(true);
    expect(readFileSync(file).equals(damaged)).toBe(true);
    // The damaged page's rows are lost and reported; every other row is there.
    expect(summary.lost.map((l) => l.table)).toEqual(['events']);
    expect(summary.tables.runs).toBe(RUNS);
    expect(summary.tables.events).toBeGreaterThan(0);
    expect(summary.tables.events).toBeLessThan(events);
    expect(summary.integrity).toBe('ok');
    expect(checkSqliteFile(out, 'full')).toEqual({ ok: true, code: undefined, problems: [] });

    // A second recover does not overwrite the file unless --force.
    const again = await cli(['db', 'recover', '--out', out], file);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists');

    // Swapped in, it is a sound store with every run there (serve starting on it: the runbook's drill).
    renameSync(out, file);
    const check = await cli(['db', 'check', '--full'], file);
    expect(check.code, check.stdout).toBe(0);
    const got = await cli(['runs', 'get', runIds[RUNS - 1]!, '--json'], file);
    expect(JSON.parse(got.stdout)).toMatchObject({ id: runIds[RUNS - 1], status: 'succeeded' });
  });

  it('refuses a PostgreSQL store (restore from a backup there)', async () => {
    const result = await runCliInProcess(['db', 'recover', '--out', join(work.dir, 'x.sqlite')], {
      env: { AGENTRY_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' },
      cwd: work.dir,
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/error \[invalid_request\]: agentry db recover rebuilds an SQLite file/);
  });
});

describe('a server on a damaged SQLite file', () => {
  it('logs one ERROR line naming SQLITE_CORRUPT and the file, exits 1; with the file moved aside it starts on an empty store', async () => {
    const { file } = storeCopy();
    damageTablePage(file, 'events');
    const env = { AGENTRY_DATABASE_URL: `sqlite:${file}`, AGENTRY_LOG_LEVEL: 'info' };
    const result = await runCli(['serve', project, '--port', '0', '--no-auth'], { env });
    expect(result.code).toBe(1);
    const errors = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.level === 'error');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ event: 'process.failed', code: 'store_corrupt', details: { code: 'SQLITE_CORRUPT', store: `sqlite:${file}` } });
    expect(String(errors[0]!.msg)).toContain(`SQLITE_CORRUPT: the store file ${file} is damaged`);
    expect(result.stderr).toContain('error [store_corrupt]');
    expect(result.stderr).not.toContain('"msg":"serving on');

    renameSync(file, `${file}.broken`);
    const serve = startCli(['serve', project, '--port', '0', '--no-auth'], { env });
    await waitForOutput(serve, (stderr) => stderr.includes('serving on'));
    serve.child.kill('SIGTERM');
    expect((await serve.done).code).toBe(0);
    expect(Number((await queryAt(`sqlite:${file}`, 'SELECT count(*) AS n FROM runs'))[0]!.n)).toBe(0);
  });
});

describe.runIf(hasPostgres)('agentry db check on PostgreSQL', () => {
  it('connects and checks the schema; a port nothing listens on fails the connection check (exit 1)', async () => {
    const db = await createTestDatabase();
    try {
      const ok = await runCliInProcess(['db', 'check', '--json'], { env: { AGENTRY_DATABASE_URL: db.url }, cwd: work.dir });
      expect(ok.code, ok.stdout).toBe(0);
      expect(JSON.parse(ok.stdout)).toMatchObject({
        ok: true,
        kind: 'postgres',
        checks: [
          { name: 'connection', ok: true },
          { name: 'schema', ok: true },
        ],
      });
      const down = await runCliInProcess(['db', 'check'], { env: { AGENTRY_DATABASE_URL: 'postgres://postgres@127.0.0.1:1/agentry' }, cwd: work.dir });
      expect(down.code).toBe(1);
      expect(down.stdout).toMatch(/^FAIL connection: /m);
    } finally {
      await db.drop();
    }
  });
});
