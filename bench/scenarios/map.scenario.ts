/**
 * `for_each` maps at scale: one run whose `transform` step is mapped over N items
 * (`concurrency` 50), on SQLite and on PostgreSQL, each by one in-process `Engine` (worker pool,
 * scheduler and the run's start in the same process, what `agentry serve` runs).
 *
 * Reported per case: the run's wall time (start → end), µs per item (a map that costs O(items)
 * keeps it about constant from 1,000 to 10,000 items: the 1,000-item case of the same run is
 * the anchor), and the longest event-loop stall while it ran (`monitorEventLoopDelay`, 10 ms
 * resolution, and the gaps of a 10 ms interval: the process serves nothing else while
 * synchronous work holds the loop) with the CPU time the process spent in its longest stretch
 * (on a loaded machine a wall-clock stall also counts the time other processes had the cores),
 * plus the 1-minute load average before and after.
 * After the run ends, the time of the reads an operator makes of it: the run with its
 * (top-level) steps, and its first page of events.
 *
 * BENCH_MAP_N (a comma list of item counts, default `1000,10000`), BENCH_MAP_CONCURRENCY
 * (default 50), BENCH_MAP_ONLY (a regex of case names such as `sqlite/10000`),
 * AGENTRY_TEST_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import pino from 'pino';
import { Engine } from '../../src/engine/engine.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import { compileWorkflow } from '../../src/spec/index.js';
import { openStore } from '../../src/store/open.js';
import { createTestDatabase, PG_ADMIN_URL } from '../../test/helpers/postgres.js';
import type { Scenario } from '../run.js';

const SIZES = (process.env.BENCH_MAP_N ?? '1000,10000').split(',').map(Number);
const CONCURRENCY = Number(process.env.BENCH_MAP_CONCURRENCY ?? 50);
const ONLY = new RegExp(process.env.BENCH_MAP_ONLY ?? '');
const TIMEOUT_MS = 20 * 60_000;

const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

function mapWorkflow(items: number): { name: string } & Record<string, unknown> {
  return {
    name: 'map',
    steps: {
      list: { transform: '{{ input.items }}' },
      each: {
        for_each: { from: 'steps.list.output', concurrency: CONCURRENCY, max_items: Math.max(items, 10_000) },
        transform: { n: '{{ item * 2 }}' },
      },
    },
    output: '{{ size(steps.each.output) }}',
  };
}

interface MapCase {
  store: 'sqlite' | 'postgres';
  items: number;
  concurrency: number;
  status: string;
  seconds: number;
  us_per_item: number;
  /** The longest the event loop was held: the histogram's max, or the longest gap of a 10 ms interval less its 10 ms. */
  event_loop_max_delay_ms: number;
  event_loop_p99_delay_ms: number;
  /** The most CPU time (ms) the process used between two ticks of the 10 ms interval: its own longest synchronous stretch, whatever the load. */
  event_loop_max_block_cpu_ms: number;
  /** CPU time (user + system) the process used per item during the run: what the machine's load moves least. */
  cpu_us_per_item: number;
  read_run_ms: number;
  read_events_page_ms: number;
  load_average_1m: [number, number];
}

async function mapCase(store: MapCase['store'], url: string, items: number): Promise<MapCase> {
  const executors = defaultExecutors();
  const availableKinds = createExecutorRegistry(executors).kinds();
  const engine = new Engine({
    store: openStore(url, { poolSize: 10 }),
    workflows: new Map([['map', compileWorkflow(mapWorkflow(items), { availableKinds })]]),
    executors: createExecutorRegistry(executors),
    executorSettings: DEFAULT_EXECUTOR_SETTINGS,
    logger: pino({ level: 'warn' }),
    env: {},
    settings: { concurrency: CONCURRENCY },
  });
  try {
    await engine.store.migrate();
    await engine.start();
    const before = loadavg()[0]!;
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    // The histogram only learns of a stall when its timer fires after it: a loop held until the
    // run ends would go unseen. A 10 ms interval's longest gap, closed at the end, catches that;
    // and the CPU time the process used within its gaps tells a stall of its own (synchronous
    // work) from one of a machine whose cores are busy with other processes.
    const cpuMs = () => {
      const used = process.cpuUsage();
      return (used.user + used.system) / 1000;
    };
    let lastTick = performance.now();
    let lastCpu = cpuMs();
    let longestGap = 0;
    let busiestGap = 0;
    const tick = () => {
      const now = performance.now();
      const cpu = cpuMs();
      longestGap = Math.max(longestGap, now - lastTick);
      busiestGap = Math.max(busiestGap, cpu - lastCpu);
      lastTick = now;
      lastCpu = cpu;
    };
    const ticker = setInterval(tick, 10);
    const started = performance.now();
    const cpuAtStart = cpuMs();
    const run = await engine.startRun('map', { items: Array.from({ length: items }, (_, i) => i) });
    const done = await engine.waitForRun(run.id, { timeoutMs: TIMEOUT_MS });
    const ended = performance.now();
    const cpuUsedMs = cpuMs() - cpuAtStart;
    const seconds = (ended - started) / 1000;
    clearInterval(ticker);
    tick();
    histogram.disable();
    const after = loadavg()[0]!;
    let t = performance.now();
    await engine.store.getRun(run.id);
    await engine.store.getSteps(run.id);
    const readRunMs = performance.now() - t;
    t = performance.now();
    await engine.store.listEvents(run.id, 0, 100);
    const readEventsMs = performance.now() - t;
    const result: MapCase = {
      store,
      items,
      concurrency: CONCURRENCY,
      status: done.status,
      seconds: round(seconds, 2),
      us_per_item: round((seconds * 1e6) / items),
      event_loop_max_delay_ms: round(Math.max(histogram.max / 1e6, longestGap - 10), 1),
      event_loop_p99_delay_ms: round(histogram.percentile(99) / 1e6, 1),
      event_loop_max_block_cpu_ms: round(busiestGap, 1),
      cpu_us_per_item: round((cpuUsedMs * 1000) / items),
      read_run_ms: round(readRunMs, 1),
      read_events_page_ms: round(readEventsMs, 1),
      load_average_1m: [round(before, 2), round(after, 2)],
    };
    console.log(`  ${store}/${items}: ${JSON.stringify(result)}`);
    return result;
  } finally {
    await engine.stop();
    await engine.store.close();
  }
}

async function onSqlite(items: number): Promise<MapCase> {
  const dir = mkdtempSync(join(tmpdir(), 'agentry-bench-map-'));
  try {
    return await mapCase('sqlite', `sqlite:${join(dir, 'agentry.db')}`, items);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function onPostgres(items: number): Promise<MapCase> {
  const db = await createTestDatabase('agentry_bench_map_');
  try {
    return await mapCase('postgres', db.url, items);
  } finally {
    await db.drop();
  }
}

export const scenario: Scenario = {
  name: 'map',
  description: `one for_each run of N transform items (N=${SIZES.join(', ')}, concurrency ${CONCURRENCY}): seconds, µs per item, longest event-loop stall; SQLite and PostgreSQL`,
  async run() {
    const loadBefore = loadavg().map((x) => round(x, 2));
    const cases: MapCase[] = [];
    for (const store of ['sqlite', 'postgres'] as const) {
      for (const items of SIZES) {
        if (ONLY.test(`${store}/${items}`)) cases.push(await (store === 'sqlite' ? onSqlite(items) : onPostgres(items)));
      }
    }
    // Linearity: µs per item of each size ÷ that of the smallest size on the same store (1 = linear).
    const perItemRatio: Record<string, number> = {};
    const cpuPerItemRatio: Record<string, number> = {};
    for (const store of ['sqlite', 'postgres']) {
      const ofStore = cases.filter((c) => c.store === store).sort((a, b) => a.items - b.items);
      const anchor = ofStore[0];
      for (const c of ofStore.slice(1)) {
        if (!anchor) continue;
        perItemRatio[`${store} ${c.items}/${anchor.items}`] = round(c.us_per_item / anchor.us_per_item, 2);
        cpuPerItemRatio[`${store} ${c.items}/${anchor.items}`] = round(c.cpu_us_per_item / anchor.cpu_us_per_item, 2);
      }
    }
    console.log(`  µs per item ÷ µs per item of the smallest map: ${JSON.stringify(perItemRatio)}; CPU: ${JSON.stringify(cpuPerItemRatio)}`);
    return {
      sizes: SIZES,
      concurrency: CONCURRENCY,
      postgres: PG_ADMIN_URL.replace(/\/\/[^@]*@/, '//'),
      anchor: `the ${Math.min(...SIZES)}-item map of the same store in the same run`,
      load_average_before: loadBefore,
      load_average_after: loadavg().map((x) => round(x, 2)),
      cases,
      us_per_item_ratio: perItemRatio,
      cpu_us_per_item_ratio: cpuPerItemRatio,
    };
  },
};
