/**
 * The doctor's checks of the store: the database answers and how fast (`database`), its schema
 * is this build's (`migrations`, as `agentry migrate status`), its clock agrees with this
 * host's (`clock`), and worker processes are beating in it (`workers`, as `agentry workers list`).
 */
import { formatAge } from '../lib/duration.js';
import type { WorkerRecord } from '../store/store.js';
import { Unavailable, type CheckDefinition, type DoctorContext, type Outcome } from './doctor-context.js';
import { migrationStatus } from './migrations.js';

/** Median round trip of a trivial query above which the database is slow for every transition. */
export const LATENCY_WARN_MS = 100;
/** Round trips measured. */
const PINGS = 3;
/** Clock skew with the database above which leases and timers drift (warn) or expire wrongly (fail). */
export const CLOCK_WARN_MS = 1_000;
export const CLOCK_FAIL_MS = 5_000;

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The median of the round trips, judged. */
export function judgeLatency(roundTripsMs: readonly number[], where: string): Outcome {
  const sorted = [...roundTripsMs].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const shown = `${median.toFixed(1)}ms`;
  if (median > LATENCY_WARN_MS) {
    return {
      status: 'warn',
      detail: `${where} answers, slowly: a trivial query takes ${shown} (median of ${roundTripsMs.length}; more than ${LATENCY_WARN_MS}ms)`,
      hint: 'run the processes near the database (same zone or host), and look at its load and the network between',
    };
  }
  return { status: 'ok', detail: `${where} answers in ${shown} (median of ${roundTripsMs.length} round trips)` };
}

async function databaseCheck(ctx: DoctorContext): Promise<Outcome> {
  let store;
  try {
    store = await ctx.store();
  } catch (error) {
    if (error instanceof Unavailable)
      return { status: 'fail', detail: error.message, hint: 'start a process on it (`agentry serve`), or point AGENTRY_DATABASE_URL at the store' };
    throw error;
  }
  const times: number[] = [];
  try {
    for (let i = 0; i < PINGS; i++) {
      const started = performance.now();
      await store.ping();
      times.push(performance.now() - started);
    }
  } catch (error) {
    ctx.databaseDown = (error as Error).message;
    return { status: 'fail', detail: `${store.location} does not answer: ${ctx.databaseDown}` };
  }
  return judgeLatency(times, store.location);
}

async function migrationsCheck(ctx: DoctorContext): Promise<Outcome> {
  const status = await migrationStatus(await ctx.answeringStore());
  const { current, latest, pending } = status;
  if (status.state === 'current') return { status: 'ok', detail: `schema at migration ${current}, the latest of this build` };
  if (status.state === 'newer') {
    return {
      status: 'fail',
      detail: `schema at migration ${current}, newer than this build (${latest})`,
      hint: 'run the newer build, or restore the backup taken before the upgrade',
    };
  }
  const list = `${pending.length} pending: ${pending.map((m) => `${m.version} ${m.name}`).join('; ')}`;
  if (ctx.config.autoMigrate) {
    return {
      status: 'warn',
      detail: `schema at migration ${current}, this build needs ${latest} (${list}); the next process to start applies them (AGENTRY_AUTO_MIGRATE)`,
    };
  }
  return { status: 'fail', detail: `schema at migration ${current}, this build needs ${latest} (${list}); processes refuse to start` };
}

/** Readings of the two clocks around one query: this host's before and after, the database's in between. */
export interface ClockReading {
  before: number;
  database: number;
  after: number;
}

/** The skew beyond the reading's own uncertainty (half the round trip), judged. */
export function judgeClockSkew(r: ClockReading): Outcome {
  const skew = r.database - (r.before + r.after) / 2;
  const uncertainty = (r.after - r.before) / 2;
  const beyond = Math.max(0, Math.abs(skew) - uncertainty);
  const side = skew > 0 ? 'ahead of' : 'behind';
  const detail = `the database's clock is ${formatAge(Math.abs(skew))} ${side} this host's (±${formatAge(uncertainty)})`;
  if (beyond > CLOCK_FAIL_MS) return { status: 'fail', detail: `${detail}: more than ${CLOCK_FAIL_MS / 1000}s, leases and timers expire at the wrong time` };
  if (beyond > CLOCK_WARN_MS) return { status: 'warn', detail: `${detail}: more than ${CLOCK_WARN_MS / 1000}s` };
  return { status: 'ok', detail };
}

async function clockCheck(ctx: DoctorContext): Promise<Outcome> {
  const store = await ctx.answeringStore();
  const before = ctx.now();
  const database = await store.databaseTime();
  return judgeClockSkew({ before, database, after: ctx.now() });
}

/** The worker processes in the registry, judged: live ones (a heartbeat within `staleAfterMs`), draining and stale ones, and the maintenance mode. */
export function judgeWorkers(workers: readonly WorkerRecord[], maintenanceOn: string | undefined, now: number, staleAfterMs: number): Outcome {
  const claimers = workers.filter((w) => w.roles.length === 0 || w.roles.includes('worker'));
  const live = claimers.filter((w) => now - w.heartbeatAt <= staleAfterMs);
  const draining = live.filter((w) => w.drainRequestedAt !== null);
  const stale = claimers.length - live.length;
  const parts = [`${plural(live.length, 'live worker')}${live.length > 0 ? ` (${live.map((w) => `${w.id} on ${w.host}`).join(', ')})` : ''}`];
  if (draining.length > 0) parts.push(`${draining.length} draining`);
  if (stale > 0) parts.push(`${stale} stale (no heartbeat for more than ${formatAge(staleAfterMs)})`);
  const detail = parts.join(', ');
  if (live.length - draining.length === 0) {
    return {
      status: 'fail',
      detail: `no worker claims steps: ${detail}`,
      hint: 'start one: `agentry serve`, or `agentry start worker` beside `start api` (runs queue until one does)',
    };
  }
  if (maintenanceOn !== undefined) {
    return {
      status: 'warn',
      detail: `${detail}; maintenance mode is on (${maintenanceOn}): no worker claims a step`,
      hint: 'end it with `agentry maintenance off`',
    };
  }
  return { status: 'ok', detail };
}

async function workersCheck(ctx: DoctorContext): Promise<Outcome> {
  const store = await ctx.answeringStore();
  const [workers, maintenance] = await Promise.all([store.listWorkers(), store.getMaintenance()]);
  const on = maintenance === null ? undefined : `since ${new Date(maintenance.startedAt).toISOString()} by ${maintenance.startedBy}`;
  return judgeWorkers(workers, on, ctx.now(), ctx.config.engine.leaseTtlMs * 3);
}

export const STORE_CHECKS: readonly CheckDefinition[] = [
  {
    id: 'database',
    title: 'Database reachable',
    docs: 'docs/operations/scaling.md#connecting',
    hint: 'check AGENTRY_DATABASE_URL, that the database runs, and that this host may reach it',
    first: true,
    run: databaseCheck,
  },
  {
    id: 'migrations',
    title: 'Migrations current',
    docs: 'docs/operations/maintenance.md#migrations',
    hint: 'apply them: `agentry migrate up` (the deploy step before new processes start)',
    run: migrationsCheck,
  },
  {
    id: 'clock',
    title: 'Clock skew with the database',
    docs: 'docs/operations/doctor.md#clock',
    hint: 'synchronise the clocks of every host with NTP (chrony, systemd-timesyncd)',
    run: clockCheck,
  },
  {
    id: 'workers',
    title: 'Workers alive',
    docs: 'docs/operations/maintenance.md#workers',
    hint: 'start a worker (`agentry serve` or `agentry start worker`)',
    run: workersCheck,
  },
];
