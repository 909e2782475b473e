/**
 * A real `agentry serve` that gets SIGTERM while a step is still running past the shutdown
 * grace hands the step back: right after the process exits, the step has no lease and is due
 * now (its attempt ended `released`, with a `step.released` event), and a process started next
 * claims it at once as a new attempt — not after the lease TTL, which is set to a minute here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI_ENTRY } from '../helpers/cli.js';
import { startServer, type TestServer } from '../helpers/http-server.js';
import { KEYS, API_KEYS } from '../helpers/server.js';
import { tempDir } from '../helpers/store.js';

const REPO = join(import.meta.dirname, '..', '..');

const children: ChildProcess[] = [];
let hanging: TestServer | undefined;
let removeDir: (() => void) | undefined;

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  await hanging?.close();
  hanging = undefined;
  removeDir?.();
});

interface Served {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  stderr: () => string;
}

/** Starts `agentry serve` on the project and database; resolves once it listens. */
async function serve(project: string, dbFile: string, slowUrl: string): Promise<Served> {
  const child = spawn(process.execPath, [CLI_ENTRY, 'serve', project, '--port', '0'], {
    cwd: REPO,
    env: {
      ...process.env,
      AGENTRY_API_KEYS: API_KEYS,
      AGENTRY_DATABASE_URL: `sqlite:${dbFile}`,
      AGENTRY_POLL_INTERVAL: '50ms',
      AGENTRY_LEASE_TTL: '60s',
      AGENTRY_SHUTDOWN_GRACE: '200ms',
      AGENTRY_LOG_LEVEL: 'info',
      SLOW_URL: slowUrl,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (let i = 0; !stdout.includes('curl '); i++) {
    if (child.exitCode !== null || i > 300) throw new Error(`serve did not start:\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, url: /listening on (http:\/\/\S+)/.exec(stdout)![1]!, exited, stderr: () => stderr };
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('agentry serve: SIGTERM releases the leases of steps still running', () => {
  it('leaves the aborted step queued, unleased and due now, and the next process claims it as a new attempt', async () => {
    const { dir, remove } = tempDir('agentry-release-');
    removeDir = remove;
    // Never answers: the step runs until its worker aborts it.
    hanging = await startServer(() => new Promise<void>(() => undefined));
    const project = join(dir, 'project');
    mkdirSync(join(project, 'workflows'), { recursive: true });
    writeFileSync(join(project, 'agentry.yaml'), 'version: v1\nname: release\n');
    const work = { name: 'work', env: { SLOW_URL: {} }, steps: { call: { http: { url: '{{ env.SLOW_URL }}/work', timeout: '10m' } } } };
    writeFileSync(join(project, 'workflows', 'work.yaml'), JSON.stringify(work));
    const dbFile = join(dir, 'agentry.db');

    const first = await serve(project, dbFile, hanging.url);
    const started = await fetch(`${first.url}/v1/workflows/work/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.service}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: {} }),
    });
    expect(started.status).toBe(201);
    const runId = ((await started.json()) as { id: string }).id;
    await until('the step to call the slow server', () => hanging!.requests.length === 1, 10_000);

    first.child.kill('SIGTERM');
    expect(await first.exited, first.stderr()).toBe(0);
    const stoppedAt = Date.now();

    const db = new Database(dbFile, { readonly: true });
    try {
      const step = db
        .prepare('SELECT status, attempt, lease_owner, lease_expires_at, available_at FROM steps WHERE run_id = ? AND step_id = ?')
        .get(runId, 'call') as {
        status: string;
        attempt: number;
        lease_owner: string | null;
        lease_expires_at: number | null;
        available_at: number;
      };
      expect(step).toMatchObject({ status: 'queued', attempt: 1, lease_owner: null, lease_expires_at: null });
      expect(step.available_at).toBeLessThanOrEqual(stoppedAt);
      expect(db.prepare('SELECT attempt, status FROM attempts WHERE run_id = ?').all(runId)).toEqual([{ attempt: 1, status: 'released' }]);
      const events = db.prepare('SELECT type FROM events WHERE run_id = ? ORDER BY seq').all(runId) as { type: string }[];
      expect(events.map((e) => e.type)).toContain('step.released');
      expect(events.map((e) => e.type)).not.toContain('step.failed');
      expect((db.prepare('SELECT status FROM runs WHERE id = ?').get(runId) as { status: string }).status).toBe('running');
    } finally {
      db.close();
    }

    // A process started next claims the step at once (the lease TTL is a minute).
    const second = await serve(project, dbFile, hanging.url);
    await until('the next process to run the step', () => hanging!.requests.length === 2, 15_000);
    const again = new Database(dbFile, { readonly: true });
    try {
      expect(again.prepare('SELECT attempt, status FROM attempts WHERE run_id = ? ORDER BY attempt').all(runId)).toEqual([
        { attempt: 1, status: 'released' },
        { attempt: 2, status: 'running' },
      ]);
    } finally {
      again.close();
    }
    second.child.kill('SIGTERM');
    expect(await second.exited, second.stderr()).toBe(0);
  }, 60_000);
});
