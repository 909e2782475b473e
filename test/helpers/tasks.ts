/**
 * Human tasks and signals in tests: workflows with `human` and `wait` steps, extra API keys
 * that hold a task's role or only its scopes, the API on any store, and a wait for a run's
 * task to be created (the engine creates it when the step starts, shortly after the run).
 */
import type { Engine } from '../../src/engine/engine.js';
import { authSettings } from '../../src/server/auth.js';
import { API_KEYS, KEYS, startTestApi, WORKFLOWS, type TestApi } from './server.js';
import type { StoreFactory } from './store.js';

const REASON_FORM = { schema: { type: 'object', required: ['reason'], properties: { reason: { type: 'string', minLength: 1 } }, additionalProperties: false } };

export const TASK_WORKFLOWS: Record<string, unknown>[] = [
  {
    // A reviewer approves, rejects or submits a reason; the run's output is the step's output.
    name: 'approval',
    input: { schema: { type: 'object', properties: { item: { type: 'string' } } } },
    steps: {
      approve: { human: { title: 'Approve {{ input.item }}', instructions: 'Check the item.', role: 'reviewer', form: REASON_FORM } },
    },
    output: '{{ steps.approve.output }}',
  },
  {
    // Only the key named `clerk` (and supervisors) may decide.
    name: 'assigned',
    steps: { check: { human: { title: 'Check it', assignees: ['clerk'] } } },
    output: '{{ steps.check.output }}',
  },
  {
    // Waits for `go`, then for `done`: between the two the run is alive and `go` was received.
    name: 'gate',
    steps: {
      go: { wait: { signal: 'go' } },
      done: { needs: ['go'], wait: { signal: 'done' } },
    },
    output: { go: '{{ steps.go.output }}', done: '{{ steps.done.output }}' },
  },
];

/**
 * Keys beyond one per built-in role: `clerk` holds the tasks scopes but no role (it decides a
 * task only as an assignee); `alice` is a second reviewer.
 */
export const EXTRA_KEYS = { clerk: 'clerk-key-0123456789abcdef', alice: 'alice-key-0123456789abcdef' } as const;
export const TASK_API_KEYS = `${API_KEYS};clerk:${EXTRA_KEYS.clerk}:tasks:read,tasks:write;alice:${EXTRA_KEYS.alice}:reviewer`;

export type KeyName = keyof typeof KEYS | keyof typeof EXTRA_KEYS;

export function bearer(name: KeyName): Record<string, string> {
  const key = name in EXTRA_KEYS ? EXTRA_KEYS[name as keyof typeof EXTRA_KEYS] : KEYS[name as keyof typeof KEYS];
  return { authorization: `Bearer ${key}` };
}

/** The API and a running engine on a fresh store of `factory`, with `WORKFLOWS` and `TASK_WORKFLOWS`. */
/** What the task suites share: the test API (its `auth` helper is for `API_KEYS`; use `authAs`). */
export type TaskApi = TestApi;

export function startTaskApi(factory: StoreFactory): Promise<TaskApi> {
  return startTestApi({
    factory,
    workflows: [...WORKFLOWS, ...TASK_WORKFLOWS],
    app: { auth: authSettings({ enabled: true, host: '127.0.0.1', apiKeys: TASK_API_KEYS }) },
  });
}

/** Resolves once the run's step `stepId` is waiting (e.g. for a signal). */
export async function stepWaiting(engine: Engine, runId: string, stepId: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { steps } = await engine.getRunWithSteps(runId);
    if (steps.find((s) => s.stepId === stepId)?.status === 'waiting') return;
    if (Date.now() > deadline) throw new Error(`step ${stepId} of run ${runId} is not waiting after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
