/**
 * The SQLite floor's start-run case (floor-sqlite.ts): `POST /v1/workflows/greet/runs` on the
 * `api` bench's server (api-agentry.ts: SQLite, auth on, request logs, the engine executing the
 * runs), driven over HTTP on 127.0.0.1 by undici, 10 kept-alive connections with one request each at a time.
 *
 * - Recording pass, the server in this process: `WARMUP` starts (their runs left to end), a
 *   snapshot of the file (SQLite's backup), then `starts` starts with every statement recorded
 *   until each of their runs has ended; the recording is replayed alone on copies of the
 *   snapshot (floor-record.ts).
 * - Plain pass, the server in a child process (`api-target.ts agentry`): the same warm-up, then
 *   the child's CPU (every thread's, /proc/<pid>/task/…/schedstat, in ns) from the first start
 *   until every run has ended, per start.
 * - Bare Fastify (`api-target.ts bare`, answering the same JSON), the same warm-up, then its CPU
 *   per request for the same count with the same client, and for ten times the count with the
 *   `api` bench's client (autocannon, 10 connections). The same client leaves bare Fastify idle
 *   between requests (it answers faster than one client process sends), so each request pays a
 *   wake-up of its own; autocannon keeps it busy, as in the `api` bench whose req/s ratio the
 *   0.1× target is: ten times that figure is the budget per start.
 */
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { Pool } from 'undici';
import { startTarget, stopTarget } from '../targets.js';
import { agentryDatabase, BENCH_KEY, startAgentryTarget } from './api-agentry.js';
import { TERMINAL } from './engine-common.js';
import { recordStatements, replay, replayByKind, type KindCost, type RecordedStatement, type Replayed } from './floor-record.js';

const WARMUP = 200;
const CLIENTS = 10;
const headers = { authorization: `Bearer ${BENCH_KEY}`, 'content-type': 'application/json' };
const body = JSON.stringify({ input: { name: 'Ada' } });

export interface StartFloor {
  starts: number;
  statements: RecordedStatement[];
  replayed: Replayed;
  byKind: KindCost[];
  /** The plain pass: the server process's CPU per start, runs executed, µs. */
  agentryCpuUsPerStart: number;
  bareCpuUsPerRequest: number;
  /** Bare Fastify kept busy by autocannon (the `api` bench's client): CPU per request, µs. */
  bareBusyCpuUsPerRequest: number;
  /** The same two from /proc/<pid>/stat (10 ms ticks; counts threads that ended too): a check. */
  agentryStatCpuUsPerStart: number;
  bareStatCpuUsPerRequest: number;
}

export async function startFloor(starts: number): Promise<StartFloor> {
  const dir = mkdtempSync(join(tmpdir(), 'agentry-floor-start-'));
  try {
    const recorded = await recordingPass(join(dir, 'recorded'), starts);
    const copy = (name: string) => {
      const file = join(dir, `${name}.db`);
      copyFileSync(recorded.snapshot, file);
      return file;
    };
    const replayed = replay(copy('replay'), recorded.statements);
    const byKind = replayByKind(copy('by-kind'), recorded.statements);
    const agentryCpuUs = await plainPass(join(dir, 'plain'), starts);
    const bodies = join(dir, 'bodies.json');
    writeFileSync(bodies, JSON.stringify({ started: recorded.firstAnswer, detail: null }));
    const bareCpuUs = await barePass(bodies, starts);
    const bareBusyCpuUs = await barePass(bodies, 10 * starts, true);
    return {
      starts,
      statements: recorded.statements,
      replayed,
      byKind,
      agentryCpuUsPerStart: agentryCpuUs.schedstat / starts,
      bareCpuUsPerRequest: bareCpuUs.schedstat / starts,
      bareBusyCpuUsPerRequest: bareBusyCpuUs.schedstat / (10 * starts),
      agentryStatCpuUsPerStart: agentryCpuUs.stat / starts,
      bareStatCpuUsPerRequest: bareCpuUs.stat / starts,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function recordingPass(work: string, starts: number): Promise<{ snapshot: string; statements: RecordedStatement[]; firstAnswer: unknown }> {
  const server = await startAgentryTarget(work);
  const reader = new Database(agentryDatabase(work), { readonly: true, fileMustExist: true });
  try {
    await post(server.url, WARMUP);
    await allEnded(reader, WARMUP);
    const snapshot = join(work, 'snapshot.db');
    const source = new Database(agentryDatabase(work), { readonly: true });
    await source.backup(snapshot);
    source.close();
    const recorder = recordStatements();
    recorder.ignore(reader);
    const firstAnswer = await post(server.url, starts);
    await allEnded(reader, WARMUP + starts);
    return { snapshot, statements: recorder.stop(), firstAnswer };
  } finally {
    reader.close();
    await server.close();
  }
}

async function plainPass(work: string, starts: number): Promise<ProcessCpu> {
  const { child, url } = await startTarget('bench/scenarios/api-target.ts', ['agentry', work], { BENCH_KEY });
  const reader = new Database(agentryDatabase(work), { readonly: true, fileMustExist: true });
  try {
    await post(url, WARMUP);
    await allEnded(reader, WARMUP);
    const before = processCpuUs(child.pid!);
    await post(url, starts);
    await allEnded(reader, WARMUP + starts);
    return cpuSince(child.pid!, before);
  } finally {
    reader.close();
    await stopTarget(child);
  }
}

async function barePass(bodies: string, requests: number, busy = false): Promise<ProcessCpu> {
  const { child, url } = await startTarget('bench/scenarios/api-target.ts', ['bare', bodies]);
  try {
    await post(url, WARMUP);
    const before = processCpuUs(child.pid!);
    if (busy) {
      const result = await autocannon({ url: `${url}/v1/workflows/greet/runs`, method: 'POST', headers, body, connections: CLIENTS, amount: requests });
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`bare Fastify under autocannon: ${result.non2xx} non-2xx, ${result.errors} errors`);
    } else {
      await post(url, requests);
    }
    return cpuSince(child.pid!, before);
  } finally {
    await stopTarget(child);
  }
}

/** `count` start-run requests on `CLIENTS` kept-alive connections, one request on each at a time; resolves with the first answer's body. */
async function post(base: string, count: number): Promise<unknown> {
  const pool = new Pool(base, { connections: CLIENTS });
  let sent = 0;
  let first: unknown;
  try {
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        while (sent < count) {
          sent++;
          const response = await pool.request({ method: 'POST', path: '/v1/workflows/greet/runs', headers, body });
          const answer: unknown = await response.body.json();
          if (response.statusCode !== 201) throw new Error(`start-run answered ${response.statusCode}: ${JSON.stringify(answer)}`);
          first ??= answer;
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return first;
}

async function allEnded(reader: Database.Database, runs: number): Promise<void> {
  const ended = reader.prepare(`SELECT count(*) FROM runs WHERE status IN ${TERMINAL}`).pluck();
  while ((ended.get() as number) < runs) await sleep(20);
}

/** CPU time (user + system) of process `pid` so far, µs: its threads' schedstat (ns) and its stat (ticks). */
interface ProcessCpu {
  schedstat: number;
  stat: number;
}

function processCpuUs(pid: number): ProcessCpu {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // After the command name (which may hold spaces): utime is the 12th field, stime the 13th, in 1/100 s.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return { schedstat: ns / 1000, stat: (Number(fields[11]) + Number(fields[12])) * 10_000 };
}

function cpuSince(pid: number, before: ProcessCpu): ProcessCpu {
  const now = processCpuUs(pid);
  return { schedstat: now.schedstat - before.schedstat, stat: now.stat - before.stat };
}
