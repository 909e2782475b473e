/** Signals: a named payload sent to a run once; the `wait` steps waiting for that name succeed with it. */
import { AgentryError } from '../lib/errors.js';
import { specHash } from '../spec/index.js';
import type { CompiledStep } from '../spec/model.js';
import type { RunTx } from '../store/store.js';
import { TERMINAL_RUN_STATUSES, type SignalRecord } from '../types.js';
import { emit, type TransitionContext } from './context.js';
import { waitState } from './step-state.js';
import { succeedWaiting } from './waiting.js';

/** Signal names the workflow's `wait` steps listen for. */
export function signalNames(steps: Iterable<CompiledStep>): Set<string> {
  const names = new Set<string>();
  for (const step of steps) if (step.kind === 'wait') names.add(step.config.signal);
  return names;
}

/**
 * Records signal `name` on this run and resumes the `wait` steps waiting for it. A repeat
 * with the same payload changes nothing; with another payload it is a `conflict`.
 */
export async function deliverSignal(tx: RunTx, ctx: TransitionContext, name: string, payload: unknown): Promise<{ signal: SignalRecord; duplicate: boolean }> {
  // A repeat of a signal already received is answered as such, even after the run ended: resending is always safe.
  const received = await tx.signal(name);
  if (received) {
    if (specHash(received.payload) !== specHash(payload ?? null)) {
      throw new AgentryError('conflict', `signal '${name}' was already sent to run ${tx.run.id} with another payload`, {
        details: { received_at: new Date(received.receivedAt).toISOString() },
      });
    }
    return { signal: received, duplicate: true };
  }
  if (TERMINAL_RUN_STATUSES.has(tx.run.status)) {
    throw new AgentryError('conflict', `run ${tx.run.id} already ended ${tx.run.status}; it takes no signals`, { details: { status: tx.run.status } });
  }
  const known = signalNames(ctx.wf.steps.values());
  if (!known.has(name)) {
    throw new AgentryError(
      'invalid_request',
      `no step of workflow ${ctx.wf.name} waits for signal '${name}'${known.size ? ` (it waits for: ${[...known].join(', ')})` : ''}`,
    );
  }
  await tx.insertSignal(name, payload ?? null);
  const signal = await tx.signal(name);
  if (!signal) throw new AgentryError('internal', `signal '${name}' of run ${tx.run.id} was recorded but cannot be read back`);
  await emit(tx, ctx, 'signal.received', { name });
  for (const step of await tx.steps()) {
    if (step.status === 'waiting' && step.kind === 'wait' && waitState(step.state)?.signal === name) {
      await succeedWaiting(tx, ctx, step, signal.payload);
    }
  }
  return { signal, duplicate: false };
}
