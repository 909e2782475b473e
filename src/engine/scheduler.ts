/**
 * The scheduler's periodic sweeps: leases that lapsed (a worker died or hung), runs past
 * their deadline, human tasks past theirs (expired or escalated, also when no worker runs),
 * workflow schedules that are due (see schedules.ts), and the maintenance
 * tasks the application gives it (the audit log's and the runs' retention). Safe to run in several
 * processes at once: each fix is a guarded transition that applies once, each schedule tick
 * starts one run whichever process gets to it, and a maintenance task must be safe to repeat.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { CompiledWorkflow } from '../spec/model.js';
import type { Store } from '../store/store.js';
import { OutageLog } from '../store/transient.js';
import { toAgentryError } from '../lib/errors.js';
import type { LoopStatus } from './loop-status.js';
import type { RunTransitions } from './run-transitions.js';
import { fireDueSchedules, syncSchedules, type FireReport } from './schedules.js';
import { processRunning } from '../lib/process-alive.js';

/**
 * Work a scheduler does now and then besides its sweeps: on its first sweep, then every
 * `everyMs`. It must be safe to run in several processes at once (each scheduler runs it).
 * A failure is logged and tried again at its next turn.
 */
export interface MaintenanceTask {
  name: string;
  everyMs: number;
  /** Does one turn; may return what it did as counts (shown by `agentry admin sweep`). */
  run(): Promise<MaintenanceCounts | void>;
}

/** What a maintenance task did in one turn, e.g. `{ runs: 3, events: 120 }`. */
export type MaintenanceCounts = Readonly<Record<string, number>>;

/** One maintenance task's turn in a sweep: its counts, or the error it failed with. */
export interface MaintenanceOutcome {
  task: string;
  counts?: MaintenanceCounts;
  error?: string;
}

/** Told what each sweep did with the schedules (the process's metrics). Its methods must not throw. */
export interface ScheduleObserver {
  /**
   * A due tick was handled by this scheduler: its run `started`, the tick was `skipped` (overlap,
   * a run quota, an error), or `refused` (its run breaks the active environment's policy).
   */
  scheduleTick(schedule: string, outcome: 'started' | 'skipped' | 'refused'): void;
  /** Ticks of the schedule passed while no scheduler ran: skipped (`catch_up: none`) or made up by one run (`catch_up: one`). */
  scheduleMissed(schedule: string): void;
}

export interface SchedulerOptions {
  store: Store;
  transitions: RunTransitions;
  logger: Logger;
  /** Longest pause between sweeps (shorter when a schedule's next tick comes sooner). */
  intervalMs: number;
  now: () => number;
  /** Workers whose heartbeat is older than this are forgotten. */
  workerTtlMs: number;
  /**
   * The project's workflows: their `schedule:`s are synced into the store on the first sweep
   * and fired when due. Without it, this scheduler fires no schedules.
   */
  workflows?: ReadonlyMap<string, CompiledWorkflow>;
  maintenance?: readonly MaintenanceTask[];
  /** The deployment's tenant: of the runs of schedules without `tenant:` (default `default`). */
  tenant?: string;
  observer?: ScheduleObserver;
}

export interface SweepReport {
  expired: number;
  timedOut: number;
  /** Human tasks past their deadline whose step was resumed: each expired or escalated. */
  tasksDue: number;
  /** Schedule ticks handled by this sweep (undefined without `workflows`). */
  schedules: FireReport | undefined;
  /** The maintenance tasks that took their turn in this sweep. */
  maintenance: MaintenanceOutcome[];
}

export interface SweepOptions {
  /** Run every maintenance task now, whether or not its turn has come (`agentry admin sweep --now`). */
  force?: boolean;
}

const BATCH = 100;

/** Who resumes an overdue human task's step in a sweep (no lease is taken: a control step needs none). */
const SWEEPER = 'scheduler';

export class Scheduler {
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private readonly outage: OutageLog;
  /** The schedules were synced with `workflows` (once per scheduler; retried until it works). */
  private synced = false;
  /** When the next schedule tick is due, as the last sweep saw it. */
  private nextTickAt: number | null = null;
  /** Whether the last sweep found the deployment quiesced (its schedules held). */
  private quiesced = false;
  /** When each maintenance task is next due (absent: at the next sweep). */
  private readonly maintenanceDue = new Map<string, number>();
  private stopped = false;
  private lastRoundAt: number | undefined;
  private roundStartedAt: number | undefined;
  private lastError: string | undefined;

  constructor(private readonly o: SchedulerOptions) {
    this.outage = new OutageLog(o.logger, 'scheduler sweep');
  }

  /** The sweep loop: running or stopping, and when it last finished a sweep. */
  get status(): LoopStatus {
    return {
      state: this.stopped ? 'stopping' : 'running',
      lastRoundAt: this.lastRoundAt,
      roundStartedAt: this.roundStartedAt,
      lastError: this.lastError,
      intervalMs: this.o.intervalMs,
    };
  }

  start(): void {
    const tick = () => {
      // While the database is down each tick fails; the outage is logged once, and the
      // sweeps resume on their own when it is back.
      this.roundStartedAt = this.o.now();
      this.sweeping = this.sweep()
        .then(
          () => {
            this.outage.ok();
            this.lastError = undefined;
          },
          (error: unknown) => {
            this.outage.failed(error);
            this.lastError = toAgentryError(error).message;
          },
        )
        .finally(() => {
          this.lastRoundAt = this.o.now();
          this.roundStartedAt = undefined;
          if (this.timer !== undefined) this.timer = setTimeout(tick, this.delay());
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sweeping;
  }

  /**
   * Until the next sweep: the interval, or less when a schedule ticks sooner (so a
   * per-second cron fires on time). A failed sweep waits the whole interval.
   */
  private delay(): number {
    const { intervalMs, now } = this.o;
    if (this.nextTickAt === null) return intervalMs;
    return Math.min(intervalMs, Math.max(1, this.nextTickAt - now()));
  }

  /** One pass over lapsed leases, overdue runs, overdue human tasks, due schedules and maintenance tasks. */
  async sweep(options: SweepOptions = {}): Promise<SweepReport> {
    const { store, transitions, now } = this.o;
    this.nextTickAt = null;
    await this.forgetDeadWorkers();
    let expired = 0;
    // Each expiry and timeout is logged by the run log (run-log.ts) once its transaction commits.
    for (const lease of await store.expiredLeases(now(), BATCH)) {
      if (await transitions.expireLease(lease)) expired++;
    }
    let timedOut = 0;
    for (const runId of await store.overdueRuns(now(), BATCH)) {
      if (await transitions.timeout(runId)) timedOut++;
    }
    let tasksDue = 0;
    // Without a worker too: the task's step is resumed by the engine itself (a control step holds no lease).
    for (const task of await store.dueTasks(now(), BATCH)) {
      if (await transitions.resumeDueTask(task.runId, task.stepId, SWEEPER)) tasksDue++;
    }
    const schedules = await this.fireSchedules();
    const maintenance = await this.maintain(options.force === true);
    return { expired, timedOut, tasksDue, schedules, maintenance };
  }

  /** Runs the maintenance tasks that are due (all of them when `force`); each failure is logged, and the task waits for its next turn. */
  private async maintain(force: boolean): Promise<MaintenanceOutcome[]> {
    const { now, logger } = this.o;
    const outcomes: MaintenanceOutcome[] = [];
    for (const task of this.o.maintenance ?? []) {
      if (!force && now() < (this.maintenanceDue.get(task.name) ?? 0)) continue;
      this.maintenanceDue.set(task.name, now() + task.everyMs);
      try {
        const counts = await task.run();
        outcomes.push({ task: task.name, ...(counts ? { counts } : {}) });
      } catch (error) {
        logger.warn({ err: error, task: task.name }, `maintenance task '${task.name}' failed; it runs again at its next turn`);
        outcomes.push({ task: task.name, error: toAgentryError(error).message });
      }
    }
    return outcomes;
  }

  private async fireSchedules(): Promise<FireReport | undefined> {
    const { store, transitions, logger, workflows, now } = this.o;
    if (workflows === undefined) return undefined;
    if (!this.synced) {
      const { saved, deleted } = await syncSchedules(store, workflows, now(), { ...(this.o.tenant === undefined ? {} : { tenant: this.o.tenant }) });
      this.synced = true;
      if (saved.length + deleted.length > 0) logger.info({ saved, deleted }, 'schedules synced with the project');
    }
    // Quiesced (`agentry maintenance on --quiesce`): no schedule starts a run; a tick that comes
    // meanwhile waits, and once it ends fires on time or counts as missed (`catch_up`).
    const quiesced = (await store.getMaintenance())?.quiesce === true;
    if (quiesced !== this.quiesced) {
      this.quiesced = quiesced;
      if (quiesced) logger.info({ event: 'schedules.held' }, 'the deployment is quiesced: schedules start no run until it ends');
    }
    if (quiesced) return undefined;
    const report = await fireDueSchedules({ store, transitions, workflows, logger }, now());
    this.nextTickAt = report.nextDueAt;
    this.observe(report);
    return report;
  }

  private observe(report: FireReport): void {
    const observer = this.o.observer;
    if (!observer) return;
    // A tick another scheduler had already started is that scheduler's to count.
    for (const tick of report.fired) {
      if (tick.created) observer.scheduleTick(tick.workflow, 'started');
      if (tick.created && tick.caughtUp === true) observer.scheduleMissed(tick.workflow);
    }
    for (const tick of report.skipped) {
      if (tick.reason === 'missed') observer.scheduleMissed(tick.workflow);
      else observer.scheduleTick(tick.workflow, tick.reason === 'policy' ? 'refused' : 'skipped');
    }
  }

  /**
   * A worker on this host whose process is gone cannot renew its leases: expire them now
   * instead of waiting out the lease TTL. Workers silent for longer than the TTL are removed.
   */
  private async forgetDeadWorkers(): Promise<void> {
    const { store, now } = this.o;
    const host = hostname();
    for (const worker of await store.listWorkers()) {
      const deadHere = worker.host === host && worker.pid !== process.pid && !processRunning(worker.pid);
      if (deadHere) {
        const leases = await store.leasesOf(worker.id);
        for (const key of leases) await this.o.transitions.expireLease(key, true);
        this.o.logger.warn(
          { event: 'worker.gone', worker: worker.id, worker_pid: worker.pid, host, leases: leases.length },
          'worker process gone; its leases were released',
        );
      }
      // A silent worker elsewhere: forget it; its leases lapse on their own.
      if (deadHere || worker.heartbeatAt < now() - this.o.workerTtlMs) await store.removeWorker(worker.id);
    }
  }
}
