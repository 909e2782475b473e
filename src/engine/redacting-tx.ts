/**
 * A `RunTx` that masks secrets on the way into the store. Every transition writes through
 * it, so no run, step, attempt, event, item, task or signal row ever holds a known secret
 * (an env secret in an `http` step's URL and so in its error, a `transform` that outputs
 * one…); what the API, event streams and the CLI read back is already clean. The values a
 * step runs with are rendered apart (`render-step.ts`) and never stored.
 */
import type { Redactor } from '../lib/redact.js';
import type { CompiledWorkflow } from '../spec/model.js';
import type { NewRun, NewStep, RunTx } from '../store/store.js';

/** `record` with the values of `keys` redacted (the others as they are). */
function masked<T extends object>(redactor: Redactor, record: T, keys: readonly (keyof T)[]): T {
  const copy = { ...record };
  for (const key of keys) if (copy[key] !== undefined) copy[key] = redactor.value(copy[key]);
  return copy;
}

const NEW_RUN_FIELDS = ['input', 'output', 'error'] as const satisfies readonly (keyof NewRun)[];
const NEW_STEP_FIELDS = ['output', 'meta'] as const satisfies readonly (keyof NewStep)[];

/** `tx` with every value it writes passed through `redactor` (runs it creates or locks, too). */
export function redactingTx(tx: RunTx, redactor: Redactor): RunTx {
  const r = <T>(value: T): T => redactor.value(value);
  const overrides: Partial<RunTx> = {
    updateRun: (patch) => tx.updateRun(masked(redactor, patch, ['output', 'error'])),
    updateStep: (stepId, patch, guard) => tx.updateStep(stepId, masked(redactor, patch, ['input', 'output', 'error', 'state', 'meta']), guard),
    insertAttempt: (attempt) => tx.insertAttempt(masked(redactor, attempt, ['input', 'output', 'error'])),
    updateAttempt: (stepId, attempt, patch) => tx.updateAttempt(stepId, attempt, masked(redactor, patch, ['output', 'error'])),
    appendEvent: (type, data, stepId) => tx.appendEvent(type, data && r(data), stepId),
    insertItems: (parent, kind, items) => tx.insertItems(parent, kind, r(items)),
    insertTask: (task) => tx.insertTask(masked(redactor, task, ['title', 'instructions', 'context', 'response', 'comment'])),
    updateTask: (id, patch, statuses) => tx.updateTask(id, masked(redactor, patch, ['response', 'comment']), statuses),
    insertSignal: (name, payload) => tx.insertSignal(name, r(payload)),
    createRun: async (run, steps) => {
      const clean = redactedNewRun(redactor, run, steps);
      return redactingTx(await tx.createRun(clean.run, clean.steps), redactor);
    },
    lockRun: async (runId) => {
      const locked = await tx.lockRun(runId);
      return locked && redactingTx(locked, redactor);
    },
  };
  return new Proxy(tx, {
    get(target, property, receiver) {
      const override: unknown = Reflect.get(overrides, property);
      if (override !== undefined) return override;
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== 'function') return value; // `run` stays the transaction's current view
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => method.apply(target, args);
    },
  });
}

/** The values of the env variables `wf` declares secret (what its runs' rows must never hold). */
export function workflowSecrets(wf: CompiledWorkflow, env: NodeJS.ProcessEnv): string[] {
  const defaults = (wf.spec.env ?? {}) as Record<string, { default?: string } | undefined>;
  return wf.secrets.flatMap((name) => {
    const value = env[name] ?? defaults[name]?.default;
    return value === undefined ? [] : [value];
  });
}

/** A run about to be inserted, its input and any outputs it starts with redacted. */
export function redactedNewRun(redactor: Redactor, run: NewRun, steps: NewStep[]): { run: NewRun; steps: NewStep[] } {
  return { run: masked(redactor, run, NEW_RUN_FIELDS), steps: steps.map((step) => masked(redactor, step, NEW_STEP_FIELDS)) };
}
