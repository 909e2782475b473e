/**
 * The API's CPU per request, two checkouts side by side: `agentry serve` of this checkout and of
 * another one (`api-target.ts agentry` of each, from its sources), both running, loaded in turns
 * with autocannon (10 connections), the order alternating each round. What a request costs each
 * server comes from /proc (user + system time of its process), measured from an idle server
 * (its CPU no longer moving) to idle again after the round, so a start-run round counts the
 * engine's work on the runs it was given. The first round of each is dropped (JIT warm-up).
 *
 *   npx tsx bench/api-side-by-side.ts <get|start> <baseline dir> [rounds] [requests per round]
 *
 * The baseline is another checkout with its dependencies (`git archive <rev> | tar -x -C <dir>`
 * and a `node_modules` symlink). On a machine shared with other work, compare the two medians
 * of the same run, never figures across runs.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { median } from './stats.js';
import { startTarget } from './targets.js';

const KEY = 'bench-key-0123456789abcdef';
const HEADERS = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const BODY = JSON.stringify({ input: { name: 'Ada' } });

interface Target {
  dir: string;
  work: string;
  child: ChildProcess;
  url: string;
  runId: string;
  cpuUs: number[];
}

/** User + system CPU microseconds of `pid` so far (/proc, clock ticks of 10 ms). */
function cpuUs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Waits until the process has used less than 20 ms of CPU in 200 ms (at most 20 s). */
async function idle(pid: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const before = cpuUs(pid);
    await sleep(200);
    if (cpuUs(pid) - before < 20_000) return;
  }
}

async function start(dir: string): Promise<Target> {
  const work = mkdtempSync(join(tmpdir(), 'agentry-side-by-side-'));
  // No CPU profile of these servers: they are measured against each other.
  const { child, url } = await startTarget('bench/scenarios/api-target.ts', ['agentry', work], { BENCH_KEY: KEY, BENCH_CPU_PROF: '' }, dir);
  const started = (await (await fetch(`${url}/v1/workflows/greet/runs?wait=10s`, { method: 'POST', headers: HEADERS, body: BODY })).json()) as { id: string };
  return { dir, work, child, url, runId: started.id, cpuUs: [] };
}

const [which, baseline, rounds = '7', perRound] = process.argv.slice(2);
if ((which !== 'get' && which !== 'start') || baseline === undefined) {
  console.error('usage: npx tsx bench/api-side-by-side.ts <get|start> <baseline dir> [rounds] [requests per round]');
  process.exit(2);
}
const amount = Number(perRound ?? (which === 'get' ? 20_000 : 1_500));
const targets = [await start(resolve(import.meta.dirname, '..')), await start(resolve(baseline))];
try {
  for (let round = 0; round < Number(rounds); round++) {
    for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
      const pid = t.child.pid!;
      await idle(pid);
      const before = cpuUs(pid);
      const options =
        which === 'get'
          ? { url: `${t.url}/v1/runs/${t.runId}`, headers: HEADERS }
          : { url: `${t.url}/v1/workflows/greet/runs`, method: 'POST' as const, headers: HEADERS, body: BODY };
      const result = await autocannon({ ...options, connections: 10, amount });
      if (which === 'start') await idle(pid);
      const perRequest = (cpuUs(pid) - before) / result.requests.total;
      t.cpuUs.push(perRequest);
      console.log(
        `round ${round} ${t.dir}: ${Math.round(result.requests.average)} req/s, ${Math.round(perRequest)} µs CPU/request (non-2xx ${result.non2xx}, errors ${result.errors})`,
      );
    }
  }
  for (const t of targets) {
    const kept = t.cpuUs.slice(1);
    console.log(`${t.dir}: median ${Math.round(median(kept))} µs CPU/request (rounds after the first: ${kept.map(Math.round).join(', ')})`);
  }
} finally {
  for (const t of targets) {
    if (t.child.exitCode === null) {
      const exited = new Promise((done) => t.child.once('exit', done));
      t.child.kill('SIGTERM');
      await exited;
    }
    rmSync(t.work, { recursive: true, force: true });
  }
}
