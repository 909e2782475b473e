/**
 * Group commit of attempt results. Results that arrive together — in the same turn of the
 * event loop, or while the previous group's transaction is in flight — are recorded in one
 * transaction (`RunTransitions.recordResults`: the runs locked in id order). A group holds at
 * most one result per run; should its transaction fail (a deadlock with another process's
 * transaction included), each of its results is recorded on its own, as without grouping.
 */
import type { AgentryError } from '../lib/errors.js';
import type { StepResult } from '../runtime/types.js';
import type { AttemptKey } from '../types.js';
import type { RunTransitions } from './run-transitions.js';
import type { AttemptResult } from './run-transitions-types.js';

/** Results per transaction at most (a group's statements all go in one message on PostgreSQL). */
const MAX_GROUP = 32;

interface Waiting {
  result: AttemptResult;
  resolve: (recorded: boolean | undefined) => void;
  reject: (error: unknown) => void;
}

export class ResultBatcher {
  private queue: Waiting[] = [];
  private busy = false;

  constructor(private readonly transitions: RunTransitions) {}

  complete(key: AttemptKey, workerId: string, result: StepResult): Promise<boolean | undefined> {
    return this.add({ key, workerId, result });
  }

  fail(key: AttemptKey, workerId: string, error: AgentryError): Promise<boolean | undefined> {
    return this.add({ key, workerId, error });
  }

  private add(result: AttemptResult): Promise<boolean | undefined> {
    return new Promise((resolve, reject) => {
      this.queue.push({ result, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    // The rest of this turn's results join the group.
    setImmediate(() => {
      void this.drain().finally(() => {
        this.busy = false;
        this.kick();
      });
    });
  }

  private async drain(): Promise<void> {
    const group: Waiting[] = [];
    const runs = new Set<string>();
    const rest: Waiting[] = [];
    for (const waiting of this.queue) {
      const runId = waiting.result.key.runId;
      if (group.length < MAX_GROUP && !runs.has(runId)) {
        runs.add(runId);
        group.push(waiting);
      } else rest.push(waiting);
    }
    this.queue = rest;
    if (group.length > 1) {
      try {
        const recorded = await this.transitions.recordResults(group.map((w) => w.result));
        group.forEach((w, i) => w.resolve(recorded[i]));
        return;
      } catch {
        // Recorded one by one below: each result's own error (if any) goes to its caller.
      }
    }
    await Promise.all(group.map((w) => this.one(w)));
  }

  private async one({ result, resolve, reject }: Waiting): Promise<void> {
    const { key, workerId, error } = result;
    try {
      resolve(await (error ? this.transitions.failStep(key, workerId, error) : this.transitions.completeStep(key, workerId, result.result!)));
    } catch (e) {
      reject(e);
    }
  }
}
