/**
 * Gauges read when `/metrics` is scraped: this process's worker pool, its tool servers and
 * event loop, and deployment-wide counts from the database (every tenant: metrics are an
 * operator's view). A database read is a few small indexed queries, cached for a second (a
 * scrape storm reads the database once a second at most) and cut off after two; a read that
 * fails or times out shows as NaN and never fails the scrape.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ActiveRunCounts, MaintenanceRecord, OpenTaskStats, QueueStats, Store } from '../store/store.js';

/** Where the deployment-wide gauges read from: the store, and how fresh a worker's heartbeat must be. */
export interface DeploymentSource {
  store: Pick<Store, 'queueStats' | 'activeRunCounts' | 'openTaskStats' | 'listWorkers' | 'getMaintenance'>;
  /** A worker whose heartbeat is older is not live. */
  workerTtlMs: number;
}

/** One configured LLM budget's spend over its limit in the current period. */
export interface BudgetUsage {
  scope: string;
  budget: string;
  period: string;
  ratio: number;
}

export interface ToolServerState {
  name: string;
  state: string;
  /** Reconnects since the process started. */
  restarts: number;
}

/** What the scrape-time gauges read; each is optional (a gauge without its source shows 0 or nothing). */
export interface MetricsSources {
  /** Attempts this process's worker pool runs now, by workflow. */
  attemptsInFlight?: () => ReadonlyMap<string, number>;
  /** Workflows whose in-flight gauge shows 0 when nothing of theirs runs (the project's). */
  workflows?: () => Iterable<string>;
  /** This process's worker pool size (0: it runs no worker pool). */
  workerSlots?: () => number;
  deployment?: DeploymentSource;
  toolServers?: () => readonly ToolServerState[];
  /** The configured budgets' use (only the gateway's process has them). */
  budgets?: () => Promise<readonly BudgetUsage[]>;
}

export const TOOL_SERVER_STATES = ['idle', 'connected', 'failed', 'disabled'] as const;

const CACHE_MS = 1_000;
/** Budgets are a ledger sum each and move slowly: read at most every 10 s. */
const BUDGET_CACHE_MS = 10_000;
const READ_TIMEOUT_MS = 2_000;

/** `fn`'s result, read at most once per `cacheMs`, rejected when it takes longer than `READ_TIMEOUT_MS`. */
function cached<T>(fn: () => Promise<T>, cacheMs = CACHE_MS): () => Promise<T> {
  let last: { at: number; value: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (last && now - last.at < cacheMs) return last.value;
    const value = withTimeout(fn());
    value.catch(() => undefined);
    last = { at: now, value };
    return value;
  };
}

function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${READ_TIMEOUT_MS}ms`)), READ_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The value a gauge shows for a read that failed. */
async function orNaN<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch {
    return undefined;
  }
}

const age = (now: number, since: number | null | undefined): number => (since === null || since === undefined ? 0 : Math.max(0, now - since) / 1000);

/**
 * Registers the scrape-time gauges; `sources()` is read at each scrape (the process attaches
 * its sources after the registry is made). Returns the function that stops the event-loop monitor.
 */
export function registerGauges(registry: Registry, version: string, sources: () => MetricsSources, eventLoop: boolean): () => void {
  const registers = [registry];
  new Gauge({ name: 'agentry_build_info', help: 'Agentry build; the value is always 1', labelNames: ['version'], registers }).set({ version }, 1);

  // This process.
  new Gauge({
    name: 'agentry_attempts_in_flight',
    help: "Step attempts this process's worker pool runs now, by workflow (0 when none)",
    labelNames: ['workflow'],
    registers,
    collect() {
      const { attemptsInFlight, workflows } = sources();
      this.reset();
      for (const workflow of workflows?.() ?? []) this.set({ workflow }, 0);
      for (const [workflow, n] of attemptsInFlight?.() ?? []) this.set({ workflow }, n);
    },
  });
  new Gauge({
    name: 'agentry_worker_slots',
    help: "Steps this process's worker pool runs at once at most (0: it runs no worker pool); attempts_in_flight / worker_slots is its saturation",
    registers,
    collect() {
      this.set(sources().workerSlots?.() ?? 0);
    },
  });
  new Gauge({
    name: 'agentry_tool_server_up',
    help: "1 for the state each of this process's MCP tool servers is in (idle, connected, failed, disabled), 0 for the others",
    labelNames: ['server', 'state'],
    registers,
    collect() {
      this.reset();
      for (const server of sources().toolServers?.() ?? []) {
        for (const state of TOOL_SERVER_STATES) this.set({ server: server.name, state }, server.state === state ? 1 : 0);
      }
    },
  });
  const restartsSeen = new Map<string, number>();
  new Counter({
    name: 'agentry_tool_server_restarts_total',
    help: "Reconnects of this process's MCP tool servers after a lost or failed connection, by server",
    labelNames: ['server'],
    registers,
    collect() {
      for (const server of sources().toolServers?.() ?? []) {
        const seen = restartsSeen.get(server.name) ?? 0;
        this.inc({ server: server.name }, Math.max(0, server.restarts - seen));
        restartsSeen.set(server.name, Math.max(seen, server.restarts));
      }
    },
  });
  const budgets = cached(() => sources().budgets?.() ?? Promise.resolve([]), BUDGET_CACHE_MS);
  new Gauge({
    name: 'agentry_llm_budget_used_ratio',
    help: 'Spend over limit of each configured LLM budget in its current UTC period (1 = exhausted), by scope (workflow, tenant), budget (its workflow or tenant) and period (day, month); the larger of its USD and token ratios',
    labelNames: ['scope', 'budget', 'period'],
    registers,
    async collect() {
      this.reset();
      if (!sources().budgets) return;
      for (const { scope, budget, period, ratio } of (await orNaN(budgets)) ?? []) this.set({ scope, budget, period }, ratio);
    },
  });

  // The deployment, from the database.
  const read = <T>(fn: (d: DeploymentSource) => Promise<T>) => cached(() => fn(sources().deployment!));
  const queue = read<QueueStats>((d) => d.store.queueStats(Date.now()));
  const runs = read<ActiveRunCounts>((d) => d.store.activeRunCounts());
  const tasks = read<OpenTaskStats>((d) => d.store.openTaskStats());
  const maintenance = read<MaintenanceRecord | null>((d) => d.store.getMaintenance());
  const workers = read<number>(async (d) => {
    const now = Date.now();
    return (await d.store.listWorkers()).filter((w) => w.roles.includes('worker') && now - w.heartbeatAt <= d.workerTtlMs).length;
  });
  /** A gauge of one deployment-wide value; NaN while its read fails. */
  const deploymentGauge = <T>(name: string, help: string, reader: () => Promise<T>, value: (v: T, now: number) => number) =>
    new Gauge({
      name,
      help,
      registers,
      async collect() {
        if (!sources().deployment) return;
        const v = await orNaN(reader);
        this.set(v === undefined ? Number.NaN : value(v, Date.now()));
      },
    });
  deploymentGauge('agentry_queue_depth', 'Steps due now and not claimed by a worker, in the whole deployment', queue, (q) => q.depth);
  deploymentGauge(
    'agentry_queue_oldest_due_age_seconds',
    'Seconds since the longest-due unclaimed step became due (0 when none is due), in the whole deployment',
    queue,
    (q, now) => age(now, q.oldestDueAt),
  );
  deploymentGauge('agentry_workers_live', 'Worker processes with a fresh heartbeat in the database (within 3 lease TTLs)', workers, (n) => n);
  deploymentGauge(
    'agentry_maintenance',
    '1 while the deployment is in maintenance mode (no worker claims a step; runs queue) or quiesced (new runs refused, accepted ones finish), 0 otherwise',
    maintenance,
    (m) => (m === null ? 0 : 1),
  );
  deploymentGauge('agentry_tasks_open', 'Human tasks open now, in the whole deployment', tasks, (t) => t.open);
  deploymentGauge('agentry_tasks_oldest_open_age_seconds', 'Seconds since the oldest open human task was created (0 when none is open)', tasks, (t, now) =>
    age(now, t.oldestCreatedAt),
  );
  new Gauge({
    name: 'agentry_runs_active',
    help: 'Runs not ended, by status (queued, running, waiting), in the whole deployment',
    labelNames: ['status'],
    registers,
    async collect() {
      if (!sources().deployment) return;
      const counts = await orNaN(runs);
      for (const status of ['queued', 'running', 'waiting'] as const) this.set({ status }, counts?.[status] ?? Number.NaN);
    },
  });

  return eventLoopGauge(registers, eventLoop);
}

/**
 * `agentry_event_loop_lag_seconds`: the 99th percentile of the event loop's delay since the
 * previous scrape (`perf_hooks.monitorEventLoopDelay`, sampled every 10 ms). A reset restarts
 * the monitor's clock, so the first 10 ms after a scrape go unmeasured. Returns the stop function.
 */
function eventLoopGauge(registers: Registry[], enabled: boolean): () => void {
  const histogram: IntervalHistogram | undefined = enabled ? monitorEventLoopDelay({ resolution: 10 }) : undefined;
  histogram?.enable();
  new Gauge({
    name: 'agentry_event_loop_lag_seconds',
    help: 'Event-loop delay of this process since the previous scrape, 99th percentile, in seconds (above 0.1 the process is saturated)',
    registers,
    collect() {
      if (!histogram) return;
      this.set(histogram.count === 0 ? 0 : histogram.percentile(99) / 1e9);
      histogram.reset();
    },
  });
  return () => histogram?.disable();
}
