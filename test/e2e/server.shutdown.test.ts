/**
 * Graceful shutdown of a real `agentry serve` child process under load: SIGTERM while clients
 * start and read runs (each request on a new connection) and steps are running. Every request
 * gets a response until the listener closes and a refused connection after; no connection is
 * reset before the listener closes. The process exits 0 and leaves no step leased or running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../helpers/cli.js';
import { json, startServer, type TestServer } from '../helpers/http-server.js';
import { KEYS, API_KEYS } from '../helpers/server.js';
import { tempDir } from '../helpers/store.js';

const REPO = join(import.meta.dirname, '..', '..');

let child: ChildProcess | undefined;
let slow: TestServer | undefined;
let removeDir: (() => void) | undefined;

afterEach(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  child = undefined;
  await slow?.close();
  slow = undefined;
  removeDir?.();
});

type Outcome = { status: number } | { error: string; at: number };

/** One request on a fresh connection (no keep-alive): a status, or the socket error code. */
function call(url: string, method: 'GET' | 'POST', body?: unknown): Promise<Outcome> {
  return new Promise((resolve) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      url,
      {
        method,
        agent: false,
        headers: { authorization: `Bearer ${KEYS.service}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, at: Date.now() }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message, at: Date.now() }));
    req.end(payload);
  });
}

describe('agentry serve: SIGTERM under load', () => {
  it('answers or refuses every request, resets none before the listener closes, exits 0 and leaves no lease behind', async () => {
    const { dir, remove } = tempDir('agentry-serve-');
    removeDir = remove;
    slow = await startServer(async (_req, res) => {
      await new Promise((resolve) => setTimeout(resolve, 100 + Math.random() * 200));
      json(res, 200, { ok: true });
    });
    mkdirSync(join(dir, 'project', 'workflows'), { recursive: true });
    writeFileSync(join(dir, 'project', 'agentry.yaml'), 'version: v1\nname: shutdown\n');
    const work = {
      name: 'work',
      env: { SLOW_URL: {} },
      steps: {
        call: { http: { url: '{{ env.SLOW_URL }}/work', method: 'POST', body: { run: '{{ run.id }}' } } },
        after: { needs: ['call'], transform: { done: true } },
      },
    };
    writeFileSync(join(dir, 'project', 'workflows', 'work.yaml'), JSON.stringify(work));
    const dbFile = join(dir, 'agentry.db');
    child = spawn(process.execPath, [CLI_ENTRY, 'serve', join(dir, 'project'), '--port', '0'], {
      cwd: REPO,
      env: {
        ...process.env,
        AGENTRY_API_KEYS: API_KEYS,
        AGENTRY_DATABASE_URL: `sqlite:${dbFile}`,
        AGENTRY_POLL_INTERVAL: '50ms',
        AGENTRY_LEASE_TTL: '2s',
        AGENTRY_SHUTDOWN_GRACE: '5s',
        AGENTRY_CONCURRENCY: '8',
        AGENTRY_LOG_LEVEL: 'info',
        SLOW_URL: slow.url,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    for (let i = 0; !stdout.includes('curl '); i++) {
      if (child.exitCode !== null || i > 300) throw new Error(`serve did not start:\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const base = /listening on (http:\/\/\S+)/.exec(stdout)![1]!;
    expect(stdout).toContain(`curl -sS -X POST '${base}/v1/workflows/work/runs?wait=30s'`);
    expect(stdout).toContain('Authorization: Bearer $AGENTRY_API_KEY');

    const outcomes: Outcome[] = [];
    let refused = 0;
    const client = async (): Promise<void> => {
      for (;;) {
        const started = await call(`${base}/v1/workflows/work/runs`, 'POST', { input: {} });
        outcomes.push(started);
        const read = await call(`${base}/v1/runs?limit=5`, 'GET');
        outcomes.push(read);
        if ([started, read].some((o) => 'error' in o && o.error === 'ECONNREFUSED')) {
          refused++;
          return;
        }
      }
    };
    const clients = Promise.all(Array.from({ length: 12 }, () => client()));
    // SIGTERM under load, once steps are running (however long a loaded machine takes to get there).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const db = new Database(dbFile, { readonly: true });
    try {
      const leasedSteps = (): number => (db.prepare('SELECT count(*) AS n FROM steps WHERE lease_owner IS NOT NULL').get() as { n: number }).n;
      for (let i = 0; leasedSteps() === 0 && i < 300; i++) await new Promise((resolve) => setTimeout(resolve, 100));
      expect(leasedSteps(), 'steps are running when SIGTERM is sent').toBeGreaterThan(0);
    } finally {
      db.close();
    }
    child.kill('SIGTERM');
    const code = await exited;
    await clients;

    expect(code, stderr).toBe(0);
    expect(refused).toBe(12);
    // The instant the listening socket closes, connections the kernel had completed but the
    // process had not yet accepted are reset by the kernel (TCP has no way to refuse them
    // then). No other error is allowed, and no reset before the listener closes.
    const closedAt = Date.parse(/"time":"([^"]+)"[^\n]*closing the listener/.exec(stderr)![1]!);
    const errors = outcomes.filter((o): o is { error: string; at: number } => 'error' in o);
    expect(errors.filter((e) => e.error !== 'ECONNREFUSED' && e.error !== 'ECONNRESET').map((e) => e.error)).toEqual([]);
    const resets = errors.filter((e) => e.error === 'ECONNRESET');
    expect(resets.filter((e) => e.at < closedAt).length, 'resets before the listener closed').toBe(0);
    expect(resets.filter((e) => e.at > closedAt + 1_000).length, 'resets after the listener closed').toBe(0);
    const statuses = new Set(outcomes.filter((o): o is { status: number } => 'status' in o).map((o) => o.status));
    expect([...statuses].filter((s) => ![200, 201, 503].includes(s))).toEqual([]);
    expect(outcomes.filter((o) => 'status' in o && o.status === 201).length).toBeGreaterThan(10);

    const after = new Database(dbFile, { readonly: true });
    try {
      const rows = after.prepare("SELECT count(*) AS n FROM steps WHERE lease_owner IS NOT NULL OR status = 'running'").get() as { n: number };
      expect(rows.n).toBe(0);
      expect(after.prepare('SELECT count(*) AS n FROM workers').get()).toEqual({ n: 0 });
    } finally {
      after.close();
    }
  }, 60_000);
});
