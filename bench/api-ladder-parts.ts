/**
 * The `store` rung of the GET ladder (`bench/api-ladder.ts`) taken apart in one process: the CPU
 * per call of each piece of reading a run and turning it into its answer, on a SQLite file with
 * one ended run made by `agentry serve` (api-target.ts `agentry`, in a child process):
 *   statement  the run view's one statement straight on better-sqlite3 (`.all`, its text as the store sends it)
 *   runView    `Store.runView`: the same statement through Kysely and the statement cache, rows to records
 *   dto        `runDto`, `stepDto` and `usageTotals` of the record read
 *   stringify  `JSON.stringify` of the answer (what Fastify's default serialiser does)
 * Each piece BENCH_CALLS times (default 20,000) per round, `process.cpuUsage()` around it, the
 * order alternating over 3 rounds after a warm-up.
 *
 *   npx tsx bench/api-ladder-parts.ts
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { runDto, stepDto } from '../src/app/dto/runs.js';
import { usageTotals } from '../src/app/dto/usage.js';
import { openSqliteStore } from '../src/store/sqlite.js';
import { alternate } from './ladder-common.js';
import { median } from './stats.js';
import { startTarget, stopTarget } from './targets.js';

const KEY = 'bench-key-0123456789abcdef';
const HEADERS = { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' };
const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);

// The statement's text, as the store prepares it: recorded from better-sqlite3's `prepare`.
const texts: string[] = [];
type Prepare = (this: Database.Database, source: string) => Database.Statement;
const prepare = Reflect.get(Database.prototype, 'prepare') as Prepare;
Reflect.set(Database.prototype, 'prepare', function (this: Database.Database, source: string) {
  texts.push(source);
  return prepare.call(this, source);
} satisfies Prepare);

const work = mkdtempSync(join(tmpdir(), 'fapi-api-parts-'));
const serve = await startTarget('bench/scenarios/api-target.ts', ['agentry', work], { BENCH_KEY: KEY, BENCH_CPU_PROF: '' });
try {
  const body = JSON.stringify({ input: { name: 'Ada' } });
  const { id } = (await (await fetch(`${serve.url}/v1/workflows/greet/runs?wait=10s`, { method: 'POST', headers: HEADERS, body })).json()) as { id: string };
  const store = openSqliteStore(join(work, 'agentry.db'));
  const view = (await store.runView(id))!;
  const text = texts.find((t) => t.includes('UNION ALL') && t.includes('llm_calls'))!;
  const raw = new Database(join(work, 'agentry.db'), { readonly: true }).prepare(text);
  const detail = (v: typeof view) => ({ ...runDto(v.run), steps: v.steps.map(stepDto), children: [], usage: usageTotals([v.usage]), artifacts: [] });
  const answer = detail(view);
  const pieces: Record<string, () => unknown> = {
    statement: () => raw.all(id, id, id),
    runView: () => store.runView(id),
    dto: () => detail(view),
    stringify: () => JSON.stringify(answer),
  };
  const perCall: Record<string, number[]> = {};
  async function measure(name: string, calls: number): Promise<number> {
    const piece = pieces[name]!;
    const before = process.cpuUsage();
    for (let i = 0; i < calls; i++) await piece();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / calls;
  }
  for (const name of Object.keys(pieces)) await measure(name, CALLS / 4);
  for (let round = 0; round < 3; round++) {
    for (const name of alternate(Object.keys(pieces), round)) (perCall[name] ??= []).push(await measure(name, CALLS));
  }
  for (const [name, values] of Object.entries(perCall)) {
    console.log(`${name.padEnd(10)} ${median(values).toFixed(1)} µs CPU/call (${values.map((v) => v.toFixed(1)).join(' / ')})`);
  }
  await store.close();
} finally {
  await stopTarget(serve.child);
  rmSync(work, { recursive: true, force: true });
}
