/**
 * One worker process of the `engine` scenario, driven by its parent over IPC:
 *
 *   node --import tsx bench/scenarios/engine-worker.ts agentry|graphile|graphile-batched <database-url> <concurrency>
 *
 * It connects and says `{type:'ready'}`, starts working on `{type:'go'}` (so that every
 * process of a case starts at the same moment, after its startup), and on `{type:'stop'}`
 * stops and answers `{type:'stats'}` with what it measured (`BENCH_COUNT_QUERIES=1`: the
 * number of statements it sent, BEGIN and COMMIT included).
 *
 * - `agentry`: an `Engine` (worker pool and scheduler sweeps, what `agentry start worker`
 *   runs) on the store the URL names, with the bench workflows. `{type:'pace'}` makes it
 *   start runs itself at a fixed rate (the SQLite shape: API and engine in one process).
 * - `graphile`: graphile-worker's `run()` with a no-op task that records, per job, the time
 *   from the enqueue timestamp in its payload to its start; default options.
 * - `graphile-batched`: the same with its batching on (`GRAPHILE_BATCHING`): a local queue
 *   (the pool locks and fetches a batch of jobs with one statement) and batched completion.
 */
import pg from 'pg';
import pino from 'pino';
import { Logger, run as runGraphile, type Runner } from 'graphile-worker';
import { Engine } from '../../src/engine/engine.js';
import { createExecutorRegistry, defaultExecutors, DEFAULT_EXECUTOR_SETTINGS } from '../../src/runtime/registry.js';
import { compileWorkflow, STEP_KINDS } from '../../src/spec/index.js';
import { openStore } from '../../src/store/open.js';
import { BENCH_LIMITS, GRAPHILE_BATCHING } from './engine-common.js';
import { BENCH_WORKFLOWS } from './engine-workflows.js';

export type ToWorker = { type: 'go' } | { type: 'stop' } | { type: 'pace'; workflow: string; count: number; perSecond: number };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'paced'; runIds: string[] }
  | { type: 'stats'; queries: number; cpuMs: number; latenciesMs: number[]; firstStartAt: number | null };

/** System of a worker process: Agentry, or graphile-worker with default options or with its batching on. */
export type WorkerSystem = 'agentry' | 'graphile' | 'graphile-batched';

const [system, url, concurrencyText] = process.argv.slice(2);
const concurrency = Number(concurrencyText ?? 10);
if (!['agentry', 'graphile', 'graphile-batched'].includes(system ?? '') || !url) {
  throw new Error('usage: engine-worker.ts agentry|graphile|graphile-batched <url> <concurrency>');
}

let queries = 0;
if (process.env.BENCH_COUNT_QUERIES === '1') {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- re-bound below with apply
  const query = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;
  pg.Client.prototype.query = function (this: pg.Client, ...args: unknown[]) {
    queries++;
    return query.apply(this, args);
  } as typeof pg.Client.prototype.query;
}

let cpuAtGo: NodeJS.CpuUsage | undefined;
/** CPU time (user + system) this process used since `go`. */
const cpuMs = () => {
  const used = process.cpuUsage(cpuAtGo);
  return (used.user + used.system) / 1000;
};

const send = (message: FromWorker) => process.send!(message);
const messages = (handler: (message: ToWorker) => Promise<void>) =>
  process.on('message', (message: ToWorker) => {
    handler(message).catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
  });

if (system === 'agentry') {
  const executors = defaultExecutors();
  // Every kind: the control steps (`human`, `wait`, `workflow`) are the engine's own, with no executor.
  const availableKinds = new Set(STEP_KINDS);
  const workflows = new Map(BENCH_WORKFLOWS.map((spec) => [spec.name, compileWorkflow(spec, { availableKinds })]));
  const logger = pino({ level: 'warn' }, pino.destination(2));
  const store = openStore(url, { logger, poolSize: 10 });
  await store.migrate();
  const engine = new Engine({
    store,
    workflows,
    executors: createExecutorRegistry(executors),
    executorSettings: DEFAULT_EXECUTOR_SETTINGS,
    logger,
    env: {},
    limits: BENCH_LIMITS,
    settings: { concurrency },
  });
  messages(async (message) => {
    if (message.type === 'go') {
      cpuAtGo = process.cpuUsage();
      await engine.start();
    }
    if (message.type === 'pace') {
      const runIds: string[] = [];
      const started = Date.now();
      for (let i = 0; i < message.count; i++) {
        const wait = started + (i * 1000) / message.perSecond - Date.now();
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
        runIds.push((await engine.startRun(message.workflow, {})).id);
      }
      send({ type: 'paced', runIds });
    }
    if (message.type === 'stop') {
      await engine.stop();
      await store.close();
      send({ type: 'stats', queries, cpuMs: cpuMs(), latenciesMs: [], firstStartAt: null });
      process.disconnect();
    }
  });
  send({ type: 'ready' });
} else {
  const latenciesMs: number[] = [];
  let firstStartAt: number | null = null;
  let runner: Runner | undefined;
  messages(async (message) => {
    if (message.type === 'go') {
      cpuAtGo = process.cpuUsage();
      runner = await runGraphile({
        connectionString: url,
        concurrency,
        maxPoolSize: concurrency + 2,
        noHandleSignals: true,
        ...(system === 'graphile-batched' ? { preset: { worker: GRAPHILE_BATCHING } } : {}),
        // Errors only, as the Agentry workers log (graphile-worker logs every job at info).
        logger: new Logger(() => (level, message) => {
          if ((level as string) === 'error') console.error(message);
        }),
        taskList: {
          noop: (payload) => {
            firstStartAt ??= Date.now();
            const t = (payload as { t?: number }).t;
            if (t !== undefined) latenciesMs.push(Date.now() - t);
            return Promise.resolve();
          },
        },
      });
    }
    if (message.type === 'stop') {
      await runner?.stop();
      send({ type: 'stats', queries, cpuMs: cpuMs(), latenciesMs, firstStartAt });
      process.disconnect();
    }
  });
  send({ type: 'ready' });
}
