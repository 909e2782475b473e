/**
 * The PostgreSQL floor (`npm run bench:floor:pg`): the database CPU Agentry's statements cost per
 * step, sent by the thinnest client there is — a replay of what an engine sent.
 *
 * 1. Record: FLOOR_PG_N one-step runs (200 started through the engine, the rest copied row for
 *    row, as the `engine` scenario's backlog) in a fresh database, snapshotted (`CREATE DATABASE …
 *    TEMPLATE`); an engine in this process (worker pool of 10, scheduler sweeps) drains them while
 *    every query its `pg` clients send is recorded (floor-pg-replay.ts).
 * 2. Rounds (FLOOR_PG_ROUNDS, default 3), alternating: graphile-worker, default options, one worker
 *    process (the `engine` scenario's `postgres/graphile/noop-job×1`); Agentry one-step, one worker
 *    process, not recorded (`postgres/agentry/one-step×1`); the recording replayed on a fresh copy
 *    of the snapshot, each connection's stream on its own connection, all at once — steps/s, the
 *    database's CPU per step (its backends' /proc times, scenarios/engine-db-cpu.ts) and this
 *    process's CPU per step. Load average before and after each.
 * 3. The replay's database time by statement: one query at a time, each statement timed.
 *
 * Then the argument: on the machine's cores, steps/s ≤ cores ÷ (database CPU/step + client
 * CPU/step). With the replay's database CPU and graphile-worker's own worker CPU per job, the most
 * Agentry's statements allow, as a ratio to graphile-worker's measured jobs/s.
 *
 *   FLOOR_PG_PREFIX=fpg_ npm run bench:floor:pg
 *
 * FLOOR_PG_N (default 5000), FLOOR_PG_ROUNDS (default 3), FLOOR_PG_PREFIX (of every database
 * it makes, default agentry_floor_), BENCH_ENGINE_N (the graphile-worker and Agentry cases'
 * backlog, default 10000), AGENTRY_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 * Every figure also goes to bench/results/floor-pg.json.
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openStore } from '../src/store/open.js';
import { createTestDatabase, dropTestDatabase, pgUrl, PG_ADMIN_URL } from '../test/helpers/postgres.js';
import { agentryCase } from './scenarios/engine-agentry.js';
import { cloneRuns, openRaw } from './scenarios/engine-clone.js';
import { benchEngine, clientEngine, loadAverage, pgQuery, round, until, type EngineCase } from './scenarios/engine-common.js';
import { backendCpuMs, sampleBackends } from './scenarios/engine-db-cpu.js';
import { graphileOnPostgres } from './scenarios/engine-graphile.js';
import { openReplay, startRecording, timeStatements, type Recording, type ReplayStats } from './floor-pg-replay.js';
import { medians } from './stats.js';

const RUNS = Number(process.env.FLOOR_PG_N ?? 5000);
const ROUNDS = Number(process.env.FLOOR_PG_ROUNDS ?? 3);
const PREFIX = process.env.FLOOR_PG_PREFIX ?? 'agentry_floor_';
const PARALLEL = Number(process.env.FLOOR_PG_PARALLEL ?? 4);
const STARTED = 200;
const CONCURRENCY = 10;
const BUSY_SQL = `SELECT 1 FROM runs WHERE status IN ('queued', 'running') LIMIT 1`;

/** A probe connection (never recorded) for polls and the backends' CPU. */
async function probeOf(url: string, ignored: WeakSet<pg.Client>) {
  const client = new pg.Client({ connectionString: url });
  ignored.add(client);
  await client.connect();
  const rows = async (text: string) => (await client.query<unknown[]>({ text, rowMode: 'array' })).rows;
  return { client, rows, idle: async () => (await rows(BUSY_SQL)).length === 0 };
}

/** `CREATE DATABASE name TEMPLATE source`, retried while the source's last sessions end. */
async function copyDatabase(source: string, name: string): Promise<string> {
  for (let attempt = 0; ; attempt++) {
    try {
      await pgQuery(PG_ADMIN_URL, `CREATE DATABASE ${name} TEMPLATE ${source}`);
      return pgUrl(name);
    } catch (error) {
      if (attempt > 50 || !/being accessed/.test(String(error))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The backlog: runs started through the engine, copied row for row up to RUNS; then the snapshot. */
async function prepareBacklog(url: string): Promise<number> {
  const engine = clientEngine(url);
  const ids: string[] = [];
  await Promise.all(
    Array.from({ length: 10 }, async () => {
      while (ids.length < STARTED) {
        ids.push('');
        const at = ids.length - 1;
        ids[at] = (await engine.startRun('one', {})).id;
      }
    }),
  );
  await engine.store.close();
  const db = await openRaw(url);
  const copies = Math.round(RUNS / STARTED) - 1;
  await cloneRuns(db, ids, copies);
  await db.run('ANALYZE');
  await db.close();
  return STARTED * (copies + 1);
}

interface Drain {
  steps_per_s: number;
  client_cpu_ms_per_step: number;
  db_cpu_ms_per_step: number | null;
  load_average: { before: number[]; after: number[] };
}

/** The drain by an engine in this process, every query recorded. */
async function recordDrain(url: string, steps: number): Promise<{ drain: Drain; recording: Recording }> {
  const before = loadAverage();
  const ignored = new WeakSet<pg.Client>();
  const probe = await probeOf(url, ignored);
  const recorder = startRecording(ignored);
  const store = openStore(url, { poolSize: CONCURRENCY });
  const engine = benchEngine(store, { only: 'one', concurrency: CONCURRENCY });
  const cpuBefore = await sampleBackends(probe.rows);
  const clientBefore = process.cpuUsage();
  const started = performance.now();
  await engine.start();
  await until(probe.idle);
  const seconds = (performance.now() - started) / 1000;
  const recording = recorder.stop();
  const client = process.cpuUsage(clientBefore);
  const dbCpu = backendCpuMs(cpuBefore, await sampleBackends(probe.rows));
  await engine.stop();
  await store.close();
  await probe.client.end();
  return {
    drain: {
      steps_per_s: round(steps / seconds),
      client_cpu_ms_per_step: round((client.user + client.system) / 1000 / steps, 3),
      db_cpu_ms_per_step: dbCpu === null ? null : round(dbCpu / steps, 3),
      load_average: { before, after: loadAverage() },
    },
    recording,
  };
}

type Replay = Drain & { copies: number; stats: ReplayStats };

/**
 * The recording replayed on `copies` fresh copies of the snapshot at once (each copy by its own
 * connections, as recorded): one copy is the drain's statements alone; several keep the database
 * busy as several engine processes would.
 */
async function replayRound(snapshot: string, name: string, recording: Recording, steps: number, copies: number): Promise<Replay> {
  const before = loadAverage();
  const names = Array.from({ length: copies }, (_, c) => `${name}_${c}`);
  const opened: Array<{ probe: Awaited<ReturnType<typeof probeOf>>; replay: Awaited<ReturnType<typeof openReplay>> }> = [];
  try {
    for (const copy of names) {
      const url = await copyDatabase(snapshot, copy);
      opened.push({ probe: await probeOf(url, new WeakSet()), replay: await openReplay(url, recording) });
    }
    const cpuBefore = await Promise.all(opened.map((o) => sampleBackends(o.probe.rows)));
    const clientBefore = process.cpuUsage();
    const started = performance.now();
    const all = await Promise.all(opened.map((o) => o.replay.run()));
    const seconds = (performance.now() - started) / 1000;
    const client = process.cpuUsage(clientBefore);
    const cpuAfter = await Promise.all(opened.map((o) => sampleBackends(o.probe.rows)));
    const dbCpu = cpuAfter.map((after, c) => backendCpuMs(cpuBefore[c]!, after));
    const stats: ReplayStats = { queries: 0, seconds, errors: {}, rolledBack: 0, skipped: 0, rowCountsDiffer: 0 };
    for (const s of all) {
      stats.queries += s.queries;
      stats.rolledBack += s.rolledBack;
      stats.skipped += s.skipped;
      stats.rowCountsDiffer += s.rowCountsDiffer;
      for (const [code, n] of Object.entries(s.errors)) stats.errors[code] = (stats.errors[code] ?? 0) + n;
    }
    const total = steps * copies;
    return {
      copies,
      steps_per_s: round(total / seconds),
      client_cpu_ms_per_step: round((client.user + client.system) / 1000 / total, 3),
      db_cpu_ms_per_step: dbCpu.some((ms) => ms === null) ? null : round(dbCpu.reduce((n: number, ms) => n + ms!, 0) / total, 3),
      load_average: { before, after: loadAverage() },
      stats,
    };
  } finally {
    for (const o of opened) {
      await o.replay.close();
      await o.probe.client.end();
    }
    for (const copy of names) await dropTestDatabase(copy);
  }
}

const load = (l: { before: number[]; after: number[] }) => `${l.before[0]}→${l.after[0]}`;

/** A long statement's start and end: what tells the reads of `steps` apart is at their end. */
const shorten = (text: string) => (text.length <= 200 ? text : `${text.slice(0, 110)} … ${text.slice(-85)}`);

async function main(): Promise<void> {
  const cores = cpus().length;
  console.log(`PostgreSQL floor: ${RUNS} one-step runs recorded, ${ROUNDS} rounds, ${cores} cores, load average ${loadAverage().join(' ')}`);
  const record = await createTestDatabase(`${PREFIX}rec_`);
  const snapshot = `${record.name}_snap`;
  try {
    const steps = await prepareBacklog(record.url);
    await copyDatabase(record.name, snapshot);
    const { drain: recorded, recording } = await recordDrain(record.url, steps);
    const queries = recording.streams.reduce((n, s) => n + s.length, 0);
    console.log(
      `recorded drain (in this process, recording): ${recorded.steps_per_s} steps/s, client ${recorded.client_cpu_ms_per_step} ms, database ${recorded.db_cpu_ms_per_step} ms CPU/step, load ${load(recorded.load_average)}`,
    );
    console.log(
      `recording: ${queries} queries (${round(queries / steps, 2)} per step) on ${recording.streams.length} connections (${recording.streams.map((s) => s.length).join(', ')}); not recorded: ${recording.unrecorded}`,
    );
    const graphile: EngineCase[] = [];
    const agentry: EngineCase[] = [];
    const replays: Replay[] = [];
    const parallel: Replay[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const g = await graphileOnPostgres('graphile', 1, `${PREFIX}gw_`);
      graphile.push(g);
      console.log(
        `round ${r} graphile-worker: ${g.steps_per_s} jobs/s, worker ${g.worker_cpu_ms_per_step} ms, database ${g.db_cpu_ms_per_step} ms CPU/job, load ${load(g.load_average)}`,
      );
      const a = await agentryCase('postgres', 'one', 1, 0, `${PREFIX}ag_`);
      agentry.push(a);
      console.log(
        `round ${r} Agentry one-step: ${a.steps_per_s} steps/s, worker ${a.worker_cpu_ms_per_step} ms, database ${a.db_cpu_ms_per_step} ms CPU/step, ${a.statements_per_step} statements/step, load ${load(a.load_average)}`,
      );
      for (const [copies, list] of [
        [1, replays],
        [PARALLEL, parallel],
      ] as const) {
        const p = await replayRound(snapshot, `${record.name}_r${r}x${copies}`, recording, steps, copies);
        list.push(p);
        console.log(
          `round ${r} replay ×${copies}: ${p.steps_per_s} steps/s, client ${p.client_cpu_ms_per_step} ms, database ${p.db_cpu_ms_per_step} ms CPU/step, load ${load(p.load_average)}; ${JSON.stringify(p.stats)}`,
        );
      }
    }
    const m = {
      graphile: medians(graphile, (g) => ({ per_s: g.steps_per_s, worker: g.worker_cpu_ms_per_step, db: g.db_cpu_ms_per_step ?? NaN })),
      agentry: medians(agentry, (a) => ({ per_s: a.steps_per_s, worker: a.worker_cpu_ms_per_step, db: a.db_cpu_ms_per_step ?? NaN })),
      replay: medians(replays, (p) => ({ per_s: p.steps_per_s, client: p.client_cpu_ms_per_step, db: p.db_cpu_ms_per_step ?? NaN })),
      parallel: medians(parallel, (p) => ({ per_s: p.steps_per_s, client: p.client_cpu_ms_per_step, db: p.db_cpu_ms_per_step ?? NaN })),
    };
    console.log('\nmedians:', JSON.stringify(m));
    const bound = (db: number, client: number) => (cores * 1000) / (db + client);
    const gwBound = bound(m.graphile.db, m.graphile.worker);
    console.log(
      `graphile-worker's own bound ${cores} cores ÷ (${m.graphile.db} + ${m.graphile.worker}) ms = ${round(gwBound)} jobs/s; measured ${m.graphile.per_s} (${round(m.graphile.per_s / gwBound, 2)} of it)`,
    );
    for (const [label, client] of [
      ["graphile-worker's worker CPU/job", m.graphile.worker],
      ["the replay's client CPU/step", m.replay.client],
      ["Agentry's worker CPU/step", m.agentry.worker],
    ] as const) {
      const b = bound(m.replay.db, client);
      console.log(
        `floor with the replay's database CPU ${m.replay.db} ms + ${label} ${client} ms: ≤ ${round(b)} steps/s = ${round(b / m.graphile.per_s, 2)}× graphile-worker's measured rate, ${round(b / gwBound, 2)}× its bound`,
      );
    }
    console.log(
      `Agentry measured: ${round(m.agentry.per_s / m.graphile.per_s, 3)}× graphile-worker; the replay: ${round(m.replay.per_s / m.graphile.per_s, 3)}×`,
    );

    const timedName = `${record.name}_t`;
    const timedUrl = await copyDatabase(snapshot, timedName);
    try {
      const timed = await timeStatements(timedUrl, recording);
      const totalMs = timed.statements.reduce((n, s) => n + s.totalMs, 0);
      const totalCpu = timed.statements.reduce((n, s) => n + (s.cpuMs ?? 0), 0);
      const results = join(import.meta.dirname, 'results', 'floor-pg.json');
      writeFileSync(results, `${JSON.stringify({ recorded, graphile, agentry, replays, parallel, medians: m, timed }, null, 2)}\n`);
      console.log(
        `\nstatements one at a time: ${round(timed.stats.seconds, 2)} s, backends' CPU ${round(totalCpu / steps, 3)} ms/step, round trip of SELECT 1 ${round(timed.roundTripMs * 1000)} µs, ${JSON.stringify(timed.stats)}`,
      );
      console.log('| statement | count | per step | CPU ms | CPU share | CPU µs each | wall ms | wall µs each − round trip |');
      console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
      for (const s of timed.statements.slice(0, 12)) {
        const cpu = s.cpuMs ?? NaN;
        console.log(
          `| \`${shorten(s.statement)}\` | ${s.count} | ${round(s.count / steps, 2)} | ${round(cpu)} | ${round((100 * cpu) / totalCpu, 1)} % | ${round((cpu / s.count) * 1000)} | ${round(s.totalMs)} | ${round((s.totalMs / s.count - timed.roundTripMs) * 1000)} |`,
        );
      }
      console.log(`wall time in all: ${round(totalMs)} ms; CPU ${round(totalCpu)} ms`);
    } finally {
      await dropTestDatabase(timedName);
    }
  } finally {
    await dropTestDatabase(snapshot);
    await record.drop();
  }
}

await main();
