/**
 * One attempt of an LLM call in flight (`Attempt`: its timeout, its wiring to the caller's
 * signal, its budget reservation) and who a call is for on its log lines (`callFields`).
 */
import type { BudgetHold } from './budget.js';
import type { LlmSpan } from './tracing.js';
import type { CallContext } from './types.js';

/** One attempt in flight: its timer, its abort wiring, its budget reservation and its record. */
export class Attempt {
  readonly controller = new AbortController();
  timedOut = false;
  /** Its span (tracing on). */
  span: LlmSpan | undefined;
  /** When it was handed to the provider (`performance.now()`). */
  readonly sentAt = performance.now();
  private timer: NodeJS.Timeout | undefined;
  private readonly onAbort: () => void;

  constructor(
    /** The attempt's id: its budget reservation's and its call record's. */
    readonly id: string,
    readonly at: number,
    /** When the gateway began it, before its budget check (`performance.now()`). */
    readonly beganAt: number,
    readonly ctx: CallContext,
    readonly timeoutMs: number,
    private readonly hold: BudgetHold,
  ) {
    this.onAbort = () => this.controller.abort(ctx.signal?.reason);
    if (ctx.signal?.aborted === true) this.onAbort();
    else ctx.signal?.addEventListener('abort', this.onAbort, { once: true });
    this.armTimer();
  }

  /** (Re)starts the timeout: for a call, the whole call; for a stream, the wait for the next chunk. */
  armTimer(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new DOMException(`timed out after ${this.timeoutMs}ms`, 'TimeoutError'));
    }, this.timeoutMs);
  }

  close(): void {
    clearTimeout(this.timer);
    this.ctx.signal?.removeEventListener('abort', this.onAbort);
    this.hold.release();
  }
}

/** Who a call is for, on its log lines: the tenant, and the run, step and workflow when a step makes it. */
export function callFields(ctx: CallContext): Record<string, string> {
  return {
    tenant_id: ctx.tenantId,
    ...(ctx.runId === undefined ? {} : { run_id: ctx.runId }),
    ...(ctx.stepId === undefined ? {} : { step_id: ctx.stepId }),
    ...(ctx.workflow === undefined ? {} : { workflow: ctx.workflow }),
  };
}
