/**
 * `agentry serve` start-up: milliseconds from spawning the built CLI (`bin/agentry.js serve`, which
 * runs the bundle `dist/bundle/agentry.js`: run `npm run build` first) to the first 200 on `/readyz`, and the resident memory (VmRSS) after it
 * has been idle a few seconds. Each start is a new process on a copy of the example project
 * (SQLite, the mock provider of its gateway.yaml, auth on with an API key: the README's default),
 * whose store the first, uncounted start migrated. Anchors in the same run: `node -e 0` (exit
 * time) and a bare Fastify server with a `/readyz` route (ready time and idle RSS).
 * BENCH_STARTS (starts per target, default 10) and BENCH_IDLE_MS (idle time before reading RSS,
 * default 5000) tune it. BENCH_BASELINE=<dir>, another checkout with its dist/ built (e.g. the
 * previous release, `git archive <rev> | tar -x -C <dir>`), adds its `agentry serve` to the same
 * run, interleaved with this one: a before/after comparison under the same load.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Scenario } from '../run.js';
import { median } from '../stats.js';

const STARTS = Number(process.env.BENCH_STARTS ?? 10);
const IDLE_MS = Number(process.env.BENCH_IDLE_MS ?? 5000);
const POLL_MS = 5;
const REPO = join(import.meta.dirname, '../..');
const BIN = join(REPO, 'bin/agentry.js');
const BASELINE = process.env.BENCH_BASELINE;
const BENCH_KEY = 'bench-key-0123456789abcdef';

/** A bare Fastify server answering `/readyz`: what any Node HTTP service pays to start. */
const BARE_SERVER = `
const { default: Fastify } = await import('fastify');
const app = Fastify();
app.get('/readyz', async () => ({ status: 'ready' }));
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.once('SIGTERM', () => app.close().then(() => process.exit(0)));
`;

interface Start {
  ready_ms: number;
  /** CPU time (user + system) the process had used when it was ready: what load does not stretch. */
  cpu_ms: number;
  rss_mb: number;
}

interface Summary {
  starts: number;
  ready_ms_median: number;
  ready_ms_min: number;
  ready_ms_max: number;
  cpu_ms_to_ready_median: number;
  idle_rss_mb_median: number;
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The status of `GET /readyz`, or 0 when nothing answers yet. */
function readyz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/readyz', agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', () => resolve(0));
    req.end();
  });
}

/** User + system CPU time of `pid` so far (/proc/<pid>/stat, in clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the line, 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function rssMb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return line ? round(Number(line.replace(/\D+/g, '')) / 1024) : Number.NaN;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** Spawns `args`, polls `/readyz` until a 200, idles, reads VmRSS, stops it. */
async function start(args: string[], env: NodeJS.ProcessEnv, cwd: string, port: number, idleMs: number): Promise<Start> {
  const began = performance.now();
  const child = spawn(process.execPath, args, { cwd, env: { ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  try {
    while ((await readyz(port)) !== 200) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${args.join(' ')} exited (${child.exitCode ?? child.signalCode}):\n${stderr}`);
      if (performance.now() - began > 30_000) throw new Error(`${args.join(' ')}: not ready after 30 s:\n${stderr}`);
      await sleep(POLL_MS);
    }
    const readyMs = performance.now() - began;
    const cpu = cpuMs(child.pid!);
    await sleep(idleMs);
    return { ready_ms: round(readyMs), cpu_ms: cpu, rss_mb: rssMb(child.pid!) };
  } finally {
    await stop(child);
  }
}

function summary(starts: Start[]): Summary {
  const ready = starts.map((s) => s.ready_ms);
  return {
    starts: starts.length,
    ready_ms_median: round(median(ready)),
    ready_ms_min: Math.min(...ready),
    ready_ms_max: Math.max(...ready),
    cpu_ms_to_ready_median: round(median(starts.map((s) => s.cpu_ms))),
    idle_rss_mb_median: round(median(starts.map((s) => s.rss_mb))),
  };
}

/** `node -e 0`: the floor of any Node process, spawn to exit. */
async function nodeBaseline(): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < STARTS; i++) {
    const began = performance.now();
    await new Promise((resolve, reject) => spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' }).once('exit', resolve).once('error', reject));
    times.push(performance.now() - began);
  }
  return round(median(times));
}

export const scenario: Scenario = {
  name: 'startup',
  description: `agentry serve (built CLI, example project, SQLite, auth on): spawn to first 200 on /readyz and idle RSS after ${IDLE_MS} ms, median of ${STARTS} starts, beside node -e 0 and a bare Fastify server`,
  async run() {
    if (!existsSync(join(REPO, 'dist/bundle/agentry.js'))) throw new Error('dist/bundle/ is missing: run `npm run build` first');
    const work = mkdtempSync(join(tmpdir(), 'agentry-bench-startup-'));
    try {
      cpSync(join(REPO, 'examples/demo'), work, { recursive: true, filter: (path) => !path.includes('.agentry') });
      const base: NodeJS.ProcessEnv = {};
      for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('AGENTRY_') && !key.startsWith('npm_')) base[key] = value;
      const port = await freePort();
      const env = { ...base, AGENTRY_API_KEYS: `bench:${BENCH_KEY}:admin`, AGENTRY_PORT: String(port), AGENTRY_LOG_LEVEL: 'warn' };
      const loadBefore = loadavg().map((n) => round(n, 2));
      const serve = [BIN, 'serve'];
      const baselineServe = BASELINE ? [join(BASELINE, 'bin/agentry.js'), 'serve'] : undefined;
      // A baseline from before the bundle has only the compiled modules.
      if (BASELINE && !['dist/bundle/agentry.js', 'dist/cli/main.js'].some((file) => existsSync(join(BASELINE, file))))
        throw new Error(`${BASELINE}/dist is missing: build it first`);
      // The first start creates and migrates the store; not counted.
      const first = await start(serve, env, work, port, 0);
      console.log(`  first start (creates the store): ${first.ready_ms} ms`);
      const nodeMs = await nodeBaseline();
      console.log(`  node -e 0          ${nodeMs} ms`);
      const bare: Start[] = [];
      const agentry: Start[] = [];
      const baseline: Start[] = [];
      // Interleaved, so that a change of load weighs on both alike.
      for (let i = 0; i < STARTS; i++) {
        bare.push(await start(['--input-type=module', '-e', BARE_SERVER], base, REPO, port, IDLE_MS));
        agentry.push(await start(serve, env, work, port, IDLE_MS));
        if (baselineServe) baseline.push(await start(baselineServe, env, work, port, IDLE_MS));
        const before = baseline[i];
        const was = before ? `, baseline ${before.ready_ms} ms (cpu ${before.cpu_ms}) ${before.rss_mb} MB` : '';
        console.log(
          `  start ${i + 1}: agentry ${agentry[i]!.ready_ms} ms (cpu ${agentry[i]!.cpu_ms}) ${agentry[i]!.rss_mb} MB${was}, bare ${bare[i]!.ready_ms} ms (cpu ${bare[i]!.cpu_ms}) ${bare[i]!.rss_mb} MB`,
        );
      }
      const result = {
        idle_ms: IDLE_MS,
        poll_ms: POLL_MS,
        load_average: { before: loadBefore, after: loadavg().map((n) => round(n, 2)) },
        node_e_0_ms_median: nodeMs,
        first_start_ready_ms: first.ready_ms,
        bare_fastify: summary(bare),
        agentry_serve: summary(agentry),
        ...(BASELINE ? { baseline: { dir: BASELINE, agentry_serve: summary(baseline) } } : {}),
        targets: { ready_ms: 500, idle_rss_mb: 120 },
      };
      console.log(
        `  agentry serve: ready ${result.agentry_serve.ready_ms_median} ms (cpu ${result.agentry_serve.cpu_ms_to_ready_median}), idle RSS ${result.agentry_serve.idle_rss_mb_median} MB; bare Fastify: ${result.bare_fastify.ready_ms_median} ms, ${result.bare_fastify.idle_rss_mb_median} MB; load ${result.load_average.after.join(' ')}`,
      );
      return result;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  },
};
