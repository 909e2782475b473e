/**
 * The SQLite floor (`npm run bench:floor:sqlite`): what SQLite alone costs for the statements
 * Agentry sends per step and per started run, set against the budgets of issue 17's targets
 * (one-step ≥ 0.5× the raw claim + complete loop; start-run ≥ 0.1× bare Fastify).
 *
 * Each round, in this order (load average before and after each):
 * - engine: one-step runs drained by the engine with every SQLite statement recorded, the same
 *   drain again not recording (the engine's CPU per step), and the recording replayed alone on
 *   the file as it was before the drain (SQLite's CPU per step) — scenarios/floor-engine.ts;
 * - raw: the `engine` scenario's raw claim + complete loop (scenarios/engine-sqlite-raw.ts,
 *   5 × BENCH_ENGINE_N jobs), whose CPU per job, doubled, is the 0.5× budget per step;
 * - start: `POST /v1/workflows/greet/runs` recorded and replayed the same way, the server's CPU
 *   per start (runs executed) and bare Fastify's per request, whose tenfold is the 0.1× budget
 *   per start — scenarios/floor-start.ts.
 * Medians over the rounds, then the replay's time by statement kind (the last round's).
 *
 * Knobs: BENCH_FLOOR_RUNS (one-step runs, 3,000), BENCH_FLOOR_STARTS (2,000),
 * BENCH_FLOOR_ROUNDS (3), BENCH_ENGINE_N (the raw loop's jobs ÷ 5, 10,000).
 * On a shared machine read the CPU per operation and the ratios, not the rates.
 */
import { engineFloor, type EngineFloor } from './scenarios/floor-engine.js';
import { startFloor, type StartFloor } from './scenarios/floor-start.js';
import { loadAverage } from './scenarios/engine-common.js';
import { sqliteRawLoop } from './scenarios/engine-sqlite-raw.js';
import { median } from './stats.js';
import type { KindCost, RecordedStatement } from './scenarios/floor-record.js';

const RUNS = Number(process.env.BENCH_FLOOR_RUNS ?? 3000);
const STARTS = Number(process.env.BENCH_FLOOR_STARTS ?? 2000);
const ROUNDS = Number(process.env.BENCH_FLOOR_ROUNDS ?? 3);

interface Round {
  engine: EngineFloor;
  rawCpuUsPerJob: number;
  rawWallUsPerJob: number;
  start: StartFloor;
  load: Record<'engine' | 'raw' | 'start', { before: number[]; after: number[] }>;
}

const fixed = (x: number, digits = 1) => x.toFixed(digits);
const transactions = (statements: RecordedStatement[]) => statements.filter((s) => /^\s*BEGIN/i.test(s.sql)).length;
async function measured<T>(run: () => Promise<T>): Promise<{ value: T; load: { before: number[]; after: number[] } }> {
  const before = loadAverage();
  const value = await run();
  return { value, load: { before, after: loadAverage() } };
}

const rounds: Round[] = [];
for (let r = 1; r <= ROUNDS; r++) {
  const engine = await measured(() => engineFloor(RUNS));
  const raw = await measured(sqliteRawLoop);
  const start = await measured(() => startFloor(STARTS));
  const e = engine.value;
  const s = start.value;
  const round: Round = {
    engine: e,
    rawCpuUsPerJob: raw.value.worker_cpu_ms_per_step * 1000,
    rawWallUsPerJob: 1e6 / raw.value.steps_per_s,
    start: s,
    load: { engine: engine.load, raw: raw.load, start: start.load },
  };
  rounds.push(round);
  console.log(
    `round ${r}: engine ${fixed(e.engineCpuUsPerStep)} µs CPU/step (${Math.round(e.engineStepsPerS)} steps/s), SQLite replay ${fixed(e.replayed.cpuUs / e.steps)} µs CPU/step ` +
      `(${e.statements.length / e.steps} statements/step, ${e.replayed.errors} errors${e.replayed.firstError ? `: ${e.replayed.firstError}` : ''}); ` +
      `raw loop ${fixed(round.rawCpuUsPerJob)} µs CPU/job; start-run ${fixed(s.agentryCpuUsPerStart)} µs CPU/start (stat ${fixed(s.agentryStatCpuUsPerStart)}), ` +
      `SQLite replay ${fixed(s.replayed.cpuUs / s.starts)} µs/start (${fixed(s.statements.length / s.starts)} statements/start, ${s.replayed.errors} errors${s.replayed.firstError ? `: ${s.replayed.firstError}` : ''}), ` +
      `bare Fastify ${fixed(s.bareCpuUsPerRequest)} µs CPU/request (stat ${fixed(s.bareStatCpuUsPerRequest)}), under autocannon ${fixed(s.bareBusyCpuUsPerRequest)}; ` +
      `load ${JSON.stringify(round.load)}`,
  );
}

const medianOf = (pick: (r: Round) => number) => median(rounds.map(pick));
const m = {
  engineCpu: medianOf((r) => r.engine.engineCpuUsPerStep),
  engineReplayCpu: medianOf((r) => r.engine.replayed.cpuUs / r.engine.steps),
  engineReplayWall: medianOf((r) => r.engine.replayed.wallUs / r.engine.steps),
  rawCpu: medianOf((r) => r.rawCpuUsPerJob),
  rawWall: medianOf((r) => r.rawWallUsPerJob),
  startCpu: medianOf((r) => r.start.agentryCpuUsPerStart),
  startReplayCpu: medianOf((r) => r.start.replayed.cpuUs / r.start.starts),
  startReplayWall: medianOf((r) => r.start.replayed.wallUs / r.start.starts),
  bareCpu: medianOf((r) => r.start.bareCpuUsPerRequest),
  bareBusyCpu: medianOf((r) => r.start.bareBusyCpuUsPerRequest),
};
const last = rounds.at(-1)!;
const stepBudget = 2 * m.rawCpu;
const startBudget = 10 * m.bareBusyCpu;

console.log(`\nmedians of ${ROUNDS} rounds (CPU = user + system; µs)`);
console.log(`one-step, per step (${RUNS} runs, concurrency 10):`);
console.log(`  statements ${fixed(last.engine.statements.length / RUNS, 2)} (transactions ${fixed(transactions(last.engine.statements) / RUNS, 2)})`);
console.log(`  SQLite replay alone  ${fixed(m.engineReplayCpu)} CPU, ${fixed(m.engineReplayWall)} wall`);
console.log(
  `  engine (the process) ${fixed(m.engineCpu)} CPU; SQLite's share ${fixed((100 * m.engineReplayCpu) / m.engineCpu)} %, the rest ${fixed(m.engineCpu - m.engineReplayCpu)}`,
);
console.log(
  `  raw loop per job     ${fixed(m.rawCpu)} CPU, ${fixed(m.rawWall)} wall → 0.5× budget per step ${fixed(stepBudget)} CPU (${fixed(2 * m.rawWall)} wall)`,
);
console.log(`  SQLite alone ÷ budget ${fixed(m.engineReplayCpu / stepBudget, 2)}; engine ÷ budget ${fixed(m.engineCpu / stepBudget, 2)}`);
console.log(`start-run, per start (${STARTS} starts, 10 at a time, runs executed):`);
console.log(`  statements ${fixed(last.start.statements.length / STARTS, 2)} (transactions ${fixed(transactions(last.start.statements) / STARTS, 2)})`);
console.log(`  SQLite replay alone  ${fixed(m.startReplayCpu)} CPU, ${fixed(m.startReplayWall)} wall`);
console.log(
  `  server (the process) ${fixed(m.startCpu)} CPU; SQLite's share ${fixed((100 * m.startReplayCpu) / m.startCpu)} %, the rest ${fixed(m.startCpu - m.startReplayCpu)}`,
);
console.log(`  bare Fastify         ${fixed(m.bareBusyCpu)} CPU per request kept busy (autocannon) → 0.1× budget per start ${fixed(startBudget)} CPU`);
console.log(`                       (${fixed(m.bareCpu)} with this bench's client, which leaves it idle between requests)`);
console.log(`  SQLite alone ÷ budget ${fixed(m.startReplayCpu / startBudget, 2)}; server ÷ budget ${fixed(m.startCpu / startBudget, 2)}`);
printKinds('one-step: the replay by statement kind (last round), per step', last.engine.byKind, RUNS);
printKinds('start-run: the replay by statement kind (last round), per start', last.start.byKind, STARTS);
console.log(JSON.stringify({ runs: RUNS, starts: STARTS, rounds: ROUNDS, medians: m, step_budget_us: stepBudget, start_budget_us: startBudget }));

function printKinds(title: string, kinds: KindCost[], per: number): void {
  const cpu = kinds.reduce((n, k) => n + k.cpuUs, 0);
  const wall = kinds.reduce((n, k) => n + k.wallUs, 0);
  console.log(`\n${title}: ${fixed(cpu / per)} µs CPU, ${fixed(wall / per)} wall, with the clocks read around each; CPU share, CPU and wall µs, count`);
  for (const k of kinds.slice(0, 12)) {
    console.log(
      `  ${fixed((100 * k.cpuUs) / cpu).padStart(5)} %  ${fixed(k.cpuUs / per, 2).padStart(7)}  ${fixed(k.wallUs / per, 2).padStart(7)}  ${fixed(k.count / per, 2).padStart(5)}×  ${k.kind}`,
    );
  }
}
