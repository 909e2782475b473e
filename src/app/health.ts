/**
 * What the probes and `/metrics` ask of this process: whether the database answers and its
 * schema is current, which workers are alive, and how busy the engine is. Each check resolves
 * with a one-line detail or throws saying what is wrong.
 */
import type { ServiceDeps } from './service-deps.js';

export class HealthService {
  constructor(private readonly deps: Pick<ServiceDeps, 'engine' | 'store'>) {}

  async database(): Promise<string> {
    await this.deps.store.ping();
    return `${this.deps.store.kind} answers`;
  }

  async migrations(): Promise<string> {
    const { current, latest } = await this.deps.store.schemaState();
    if (current !== latest) throw new Error(`schema is at migration ${current}, this build needs ${latest}`);
    return `schema at migration ${current} (latest)`;
  }

  /** Workers whose heartbeat is younger than `ttlMs`; none is a failure. */
  async workers(ttlMs: number): Promise<string> {
    const now = Date.now();
    const live = (await this.deps.store.listWorkers()).filter((w) => now - w.heartbeatAt <= ttlMs);
    if (live.length === 0) throw new Error(`no worker has sent a heartbeat in the last ${ttlMs}ms`);
    const here = live.some((w) => w.id === this.deps.engine.workerId);
    return `${live.length} live worker${live.length === 1 ? '' : 's'}${here ? ' (including this process)' : ''}`;
  }

  /** Attempts this process is running now. */
  get activeAttempts(): number {
    return this.deps.engine.activeAttempts;
  }

  /** Steps due to run now, counted up to `cap`. */
  async queueDepth(cap = 10_000): Promise<number> {
    return (await this.deps.store.dueSteps(Date.now(), cap)).length;
  }

  /** How long a worker's lease lasts: a heartbeat older than a few of these means the worker is gone. */
  get leaseTtlMs(): number {
    return this.deps.engine.settings.leaseTtlMs;
  }
}
