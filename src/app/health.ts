/**
 * What the probes and `/metrics` ask of this process: whether the database answers and its
 * schema is current, which workers are alive, whether this process's own worker and scheduler
 * loops are going round, whether it can execute every step kind its workflows use, and how busy
 * the engine is. Each check resolves with a one-line detail or throws saying what is wrong.
 */
import type { LoopStatus } from '../engine/engine.js';
import { BUILTIN_STEP_KINDS, projectWorkflows, RESERVED_WORKFLOW_NAMES } from '../spec/builtin.js';
import { CONTROL_KINDS, type StepKind } from '../spec/model.js';
import type { ServiceDeps } from './service-deps.js';

/** A loop that has not gone round for this many of its intervals (and at least `MIN_STALE_MS`) is stuck. */
const STALE_INTERVALS = 5;
const MIN_STALE_MS = 5_000;

const seconds = (ms: number): string => `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Throws unless `loop` is running and finished a round (or began one) within a few of its intervals. */
function assertGoingRound(name: string, loop: LoopStatus, now: number): string {
  if (loop.state === 'stopping') throw new Error(`the ${name} is stopping (the process is shutting down)`);
  const staleMs = Math.max(STALE_INTERVALS * loop.intervalMs, MIN_STALE_MS);
  const lastError = loop.lastError === undefined ? '' : `; its last round failed: ${loop.lastError}`;
  if (loop.roundStartedAt !== undefined && now - loop.roundStartedAt <= staleMs) {
    return loop.lastRoundAt === undefined ? 'first round in progress' : `last round ${seconds(now - loop.lastRoundAt)} ago, one in progress${lastError}`;
  }
  if (loop.roundStartedAt !== undefined) throw new Error(`the ${name} has been in one round for ${seconds(now - loop.roundStartedAt)} (stuck?)${lastError}`);
  if (loop.lastRoundAt === undefined) throw new Error(`the ${name} has not gone round yet`);
  if (now - loop.lastRoundAt > staleMs)
    throw new Error(`the ${name} last went round ${seconds(now - loop.lastRoundAt)} ago (expected every ${seconds(loop.intervalMs)})${lastError}`);
  return `last round ${seconds(now - loop.lastRoundAt)} ago${lastError}`;
}

export class HealthService {
  constructor(private readonly deps: Pick<ServiceDeps, 'engine' | 'store'>) {}

  /** The store answers; the detail names it (`location`: no password), so a process on the wrong database shows it. */
  async database(): Promise<string> {
    await this.deps.store.ping();
    return `${this.deps.store.kind} answers: ${this.deps.store.location}`;
  }

  async migrations(): Promise<string> {
    const { current, latest } = await this.deps.store.schemaState();
    if (current !== latest) throw new Error(`schema is at migration ${current}, this build needs ${latest}`);
    return `schema at migration ${current} (latest)`;
  }

  /** Whether the fleet is in maintenance mode (and quiesced), since when, by whom and why. Fails only when the database cannot say. */
  async maintenance(): Promise<{ on: boolean; quiesce: boolean; detail: string }> {
    const m = await this.deps.store.getMaintenance();
    if (m === null) return { on: false, quiesce: false, detail: 'off' };
    const reason = m.reason === null ? '' : `: ${m.reason}`;
    const since = `since ${new Date(m.startedAt).toISOString()} by ${m.startedBy}${reason}`;
    if (m.quiesce) return { on: true, quiesce: true, detail: `quiesced ${since} (new runs are refused; workers finish the accepted ones)` };
    return { on: true, quiesce: false, detail: `on ${since} (no worker claims a step; runs queue)` };
  }

  /** Workers whose heartbeat is younger than `ttlMs`; none is a failure. */
  async workers(ttlMs: number): Promise<string> {
    const now = Date.now();
    const live = (await this.deps.store.listWorkers()).filter((w) => now - w.heartbeatAt <= ttlMs);
    if (live.length === 0) throw new Error(`no worker has sent a heartbeat in the last ${ttlMs}ms`);
    const here = live.some((w) => w.id === this.deps.engine.workerId);
    return `${live.length} live worker${live.length === 1 ? '' : 's'}${here ? ' (including this process)' : ''}`;
  }

  /**
   * This process's worker pool: its claim loop runs (not stopped, not stopping), went round
   * within a few poll intervals, and this process's heartbeat reached the database within `ttlMs`.
   */
  worker(ttlMs: number): Promise<string> {
    const { engine } = this.deps;
    const loops = engine.loops();
    const loop = loops.worker;
    if (loop === undefined) throw new Error(`this process's worker loop is not running (engine stopped or not started)`);
    const round = assertGoingRound('worker loop', loop, loops.now);
    if (loops.heartbeatAt === undefined) throw new Error(`worker ${engine.workerId} has not recorded a heartbeat in the database yet`);
    const beat = loops.now - loops.heartbeatAt;
    if (beat > ttlMs) throw new Error(`worker ${engine.workerId}'s last heartbeat reached the database ${seconds(beat)} ago (limit ${seconds(ttlMs)})`);
    return Promise.resolve(`${engine.workerId}: ${loop.busy}/${loop.slots} slots busy, ${round}, heartbeat ${seconds(beat)} ago`);
  }

  /** This process's scheduler: its sweep loop runs and swept within a few intervals. */
  scheduler(): Promise<string> {
    const loops = this.deps.engine.loops();
    if (loops.scheduler === undefined) throw new Error(`this process's scheduler is not running (engine stopped or not started)`);
    return Promise.resolve(`sweeps: ${assertGoingRound('scheduler', loops.scheduler, loops.now)}`);
  }

  /**
   * The step executors registered in this process (the runtime registry): at least one, and one
   * for every step kind a workflow uses (but those the engine carries out itself: `human`,
   * `wait`, `workflow`).
   */
  runtimes(): Promise<string> {
    const { engine } = this.deps;
    const kinds = engine.executorKinds;
    if (kinds.size === 0) throw new Error('no step executors are registered');
    const missing = new Map<string, string[]>();
    const need = (kind: StepKind, user: string): void => {
      if (!CONTROL_KINDS.has(kind) && !kinds.has(kind)) missing.set(kind, [...(missing.get(kind) ?? []), user]);
    };
    for (const wf of projectWorkflows(engine.workflows)) for (const step of wf.steps.values()) need(step.kind, `${wf.name}.${step.id}`);
    // The built-in workflows' kinds are known without compiling them (which waits for their first use).
    if ([...RESERVED_WORKFLOW_NAMES].some((name) => engine.workflows.has(name))) for (const kind of BUILTIN_STEP_KINDS) need(kind, 'the built-in workflows');
    if (missing.size > 0) {
      const lines = [...missing].map(([kind, steps]) => `'${kind}' (used by ${steps.slice(0, 5).join(', ')}${steps.length > 5 ? ', …' : ''})`);
      throw new Error(`no executor for step kind ${lines.join('; ')}; registered: ${[...kinds].sort().join(', ')}`);
    }
    return Promise.resolve(`${plural(kinds.size, 'executor')}: ${[...kinds].sort().join(', ')}`);
  }

  /** How long a worker's lease lasts: a heartbeat older than a few of these means the worker is gone. */
  get leaseTtlMs(): number {
    return this.deps.engine.settings.leaseTtlMs;
  }
}
