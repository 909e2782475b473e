/**
 * Process-level PostgreSQL tests: Agentry role processes (`agentry start worker|scheduler`), a ledger
 * HTTP server that records every step's side effect, throwaway PostgreSQL clusters, and
 * checks of exactly-once completion straight from the database.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { CLI_ENTRY } from './cli.js';
import { json, startServer, type TestServer } from './http-server.js';
import { freePort } from '../../src/lib/ports.js';

const run = promisify(execFile);
export const REPO = resolve(import.meta.dirname, '../..');
const PG_BIN = process.env.AGENTRY_TEST_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface RoleProcess {
  child: ChildProcess;
  readonly stderr: string;
  /** Resolves once the engine said it started (rejects if the process exits first). */
  started: Promise<void>;
  exited: Promise<number | null>;
}

/**
 * `worker`: worker pool and scheduler sweeps (`agentry start worker`); `worker-only`: the pool
 * alone (`agentry start worker --no-scheduler`); `scheduler`: the sweeps alone (`agentry start scheduler`).
 */
export type Role = 'worker' | 'worker-only' | 'scheduler';

const CLI_ARGS: Record<Role, string[]> = {
  worker: ['start', 'worker'],
  'worker-only': ['start', 'worker', '--no-scheduler'],
  scheduler: ['start', 'scheduler'],
};

export function startRole(role: Role, options: { url: string; projectDir: string; env?: Record<string, string> }): RoleProcess {
  const args = [CLI_ENTRY, ...CLI_ARGS[role], '--dir', options.projectDir];
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AGENTRY_') && !key.startsWith('npm_')) env[key] = value;
  const child = spawn(process.execPath, args, {
    cwd: REPO,
    env: {
      ...env,
      AGENTRY_DATABASE_URL: options.url,
      AGENTRY_LEASE_TTL: '2s',
      AGENTRY_POLL_INTERVAL: '500ms',
      AGENTRY_CONCURRENCY: '8',
      AGENTRY_LOG_LEVEL: 'info',
      // Side-by-side test files would clash on the default probe port; a test asks for one (0).
      AGENTRY_PROBE_PORT: 'off',
      ...options.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  const started = new Promise<void>((resolveStart, reject) => {
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (stderr.includes('engine started')) resolveStart();
    });
    void exited.then((code) => reject(new Error(`${role} exited (${code}) before it started:\n${stderr}`)));
  });
  started.catch(() => undefined);
  return {
    child,
    get stderr() {
      return stderr;
    },
    started,
    exited,
  };
}

export { freePort };

export async function stopProcess(proc: RoleProcess | ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const child = 'child' in proc ? proc.child : proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolveExit) => child.once('exit', () => resolveExit()));
  child.kill(signal);
  await gone;
}

/** Log lines (JSON) of a process whose `msg` matches. */
export function logLines(stderr: string, msg: RegExp): Array<Record<string, unknown>> {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((entry) => typeof entry.msg === 'string' && msg.test(entry.msg));
}

/** A project directory with the given workflows (as JSON, which is YAML). */
export function writeProject(dir: string, workflows: Array<{ name: string } & Record<string, unknown>>): string {
  const project = join(dir, 'project');
  mkdirSync(join(project, 'workflows'), { recursive: true });
  writeFileSync(join(project, 'agentry.yaml'), 'version: v1\nname: pg-e2e\n');
  for (const wf of workflows) writeFileSync(join(project, 'workflows', `${wf.name}.yaml`), JSON.stringify(wf, null, 2));
  return project;
}

/**
 * A ledger: `POST /append {run, step}` records a side effect and answers 200 after a short
 * delay; `POST /flaky {run, step}` fails the first call per run and step with 503.
 */
export async function startLedger(file: string): Promise<TestServer> {
  writeFileSync(file, '');
  const flaky = new Map<string, number>();
  return startServer(async (req, res, body) => {
    const { run: runId, step } = JSON.parse(body) as { run: string; step: string };
    if (req.url === '/flaky') {
      const n = (flaky.get(`${runId} ${step}`) ?? 0) + 1;
      flaky.set(`${runId} ${step}`, n);
      appendFileSync(file, `${runId} ${step} call ${n}\n`);
      json(res, n === 1 ? 503 : 200, { n });
      return;
    }
    await new Promise((r) => setTimeout(r, 2 + Math.random() * 15));
    appendFileSync(file, `${runId} ${step}\n`);
    json(res, 200, { ok: true });
  });
}

export function ledgerStep(step: string, needs: string[] = [], path = 'append') {
  return {
    ...(needs.length ? { needs } : {}),
    http: { url: `{{ env.LEDGER_URL }}/${path}`, method: 'POST', body: { run: '{{ run.id }}', step } },
    retry: { max_attempts: 20, initial: '50ms', max: '300ms' },
  };
}

/** Rows of `query` on `url` (one short-lived connection). */
export async function query<T = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Waits until no run is unfinished (tolerating a database that is down meanwhile). */
export async function waitForRuns(url: string, expected: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const counts = await query<{ done: number; total: number }>(
      url,
      `SELECT count(*) FILTER (WHERE status IN ('succeeded', 'failed', 'cancelled', 'timed_out'))::int AS done, count(*)::int AS total FROM runs`,
    ).catch(() => [{ done: -1, total: -1 }]);
    if (counts[0]!.total === expected && counts[0]!.done === expected) return;
    if (Date.now() > end) {
      const stuck = await query(
        url,
        `SELECT s.run_id, s.step_id, s.status, s.attempt, s.lease_owner, s.lease_expires_at - $1::bigint AS lease_in_ms,
                s.available_at - $1::bigint AS due_in_ms, r.status AS run_status
         FROM steps s JOIN runs r ON r.id = s.run_id
         WHERE r.status NOT IN ('succeeded', 'failed', 'cancelled', 'timed_out') AND s.status NOT IN ('succeeded', 'pending')
         LIMIT 10`,
        [Date.now()],
      ).catch((error: unknown) => String(error));
      throw new Error(`runs did not finish in time: ${JSON.stringify(counts[0])}; unfinished steps: ${JSON.stringify(stuck)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What must hold after any load, however many processes died: one success per step, nothing leased. */
export async function exactlyOnceReport(url: string): Promise<Record<string, unknown>> {
  const one = async (text: string) => (await query(url, text))[0];
  return {
    runs: await query(url, `SELECT status, count(*)::int AS n FROM runs GROUP BY status ORDER BY status`),
    succeededAttempts: await one(`SELECT count(*)::int AS n FROM attempts WHERE status = 'succeeded'`),
    duplicateSucceededAttempts: await query(url, `SELECT run_id, step_id FROM attempts WHERE status = 'succeeded' GROUP BY 1, 2 HAVING count(*) > 1`),
    succeededEvents: await one(`SELECT count(*)::int AS n FROM events WHERE type = 'step.succeeded'`),
    duplicateSucceededEvents: await query(url, `SELECT run_id, step_id FROM events WHERE type = 'step.succeeded' GROUP BY 1, 2 HAVING count(*) > 1`),
    duplicateStarts: await query(
      url,
      // A sleeping step resumes its attempt (`resumed: true`); a second plain start would be a double claim.
      `SELECT run_id, step_id, data::json->>'attempt' AS attempt FROM events
       WHERE type = 'step.started' AND data::json->>'resumed' IS NULL GROUP BY 1, 2, 3 HAVING count(*) > 1`,
    ),
    leftOver: await one(`SELECT count(*)::int AS n FROM steps WHERE status <> 'succeeded' OR lease_owner IS NOT NULL`),
  };
}

/**
 * A throwaway PostgreSQL cluster in a temporary directory, run by the `postgres` OS user when
 * the tests run as root (initdb refuses root). `destroy()` stops it and removes the directory.
 */
export class Cluster {
  private constructor(
    readonly dir: string,
    readonly port: number,
  ) {}

  static async create(): Promise<Cluster> {
    const dir = mkdtempSync(join(tmpdir(), 'agentry-pgc-'));
    const cluster = new Cluster(dir, await freePort());
    try {
      if (process.getuid?.() === 0) {
        const ids = await run('id', ['-u', 'postgres']);
        const gids = await run('id', ['-g', 'postgres']);
        chownSync(dir, Number(ids.stdout.trim()), Number(gids.stdout.trim()));
        chmodSync(dir, 0o700);
      }
      await cluster.exec('initdb', ['-D', cluster.data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      throw error;
    }
    return cluster;
  }

  get data(): string {
    return join(this.dir, 'data');
  }

  url(database: string): string {
    return `postgres://postgres@127.0.0.1:${this.port}/${database}`;
  }

  private exec(bin: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    const path = join(PG_BIN, bin);
    return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', path, ...args], { cwd: '/' }) : run(path, args);
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`;
    await this.exec('pg_ctl', ['-D', this.data, '-o', options, '-l', join(this.dir, 'server.log'), '-w', '-t', '60', 'start']);
  }

  async stop(): Promise<void> {
    await this.exec('pg_ctl', ['-D', this.data, '-m', 'fast', '-w', '-t', '60', 'stop']);
  }

  async destroy(): Promise<void> {
    await this.stop().catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
