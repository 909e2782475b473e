/**
 * The limits of `POST /v1/specs/validate`'s worker, driven on the validator directly with tiny
 * limits so each takes well under a second or two: the deadline and the heap cap end the worker
 * (`limit_exceeded`) and the next validation gets a fresh one; more waiting validations than the
 * queue bound are `rate_limited`. The deadline is shown with a stand-in worker that never
 * answers (test/fixtures/validation-worker-stub.mjs), the heap cap and the queue with the real one.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { ValidationWorker } from '../../src/app/spec-validation.js';
import { AgentryError } from '../../src/lib/errors.js';

const STUB = new URL('../fixtures/validation-worker-stub.mjs', import.meta.url);
const SMALL = { 'workflows/w.yaml': 'name: w\nsteps:\n  a:\n    transform: "{{ 1 + 1 }}"\n' };

/** A workflow of `steps` transform steps (~50 bytes each), each with its own CEL expression. */
function bigWorkflow(name: string, steps: number): string {
  let text = `name: ${name}\nsteps:\n`;
  for (let i = 0; i < steps; i++) text += `  s${i}:\n    transform: "{{ input.a${i} + ${i} }}"\n`;
  return text;
}

async function refusal(promise: Promise<unknown>): Promise<AgentryError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AgentryError);
  return error as AgentryError;
}

let validator: ValidationWorker | undefined;
afterEach(async () => {
  await validator?.close();
  validator = undefined;
});

describe('the spec validation worker', { timeout: 30_000 }, () => {
  it('ends a validation past its deadline with limit_exceeded, and validates the next one in a fresh worker', async () => {
    validator = new ValidationWorker({ script: STUB, limits: { validationMs: 300 } });
    const started = Date.now();
    const error = await refusal(validator.run({ hang: '' }));
    expect(error.code).toBe('limit_exceeded');
    expect(error.status).toBe(400);
    expect(error.details).toEqual({ limit: 'validation_ms', max: 300 });
    expect(Date.now() - started).toBeLessThan(5_000);
    await expect(validator.run(SMALL)).resolves.toMatchObject({ valid: true, workflows: ['workflows/w.yaml'] });
  });

  it('ends a validation that needs more heap than its cap with limit_exceeded, and validates the next one', { timeout: 120_000 }, async () => {
    // A deadline far off: on a loaded machine the default (10 s) could end the validation first.
    validator = new ValidationWorker({ limits: { validationHeapMb: 32, validationMs: 100_000 } });
    await expect(validator.run(SMALL)).resolves.toMatchObject({ valid: true, workflows: ['w'] });
    // 40 files of ~150 KB: each within the per-file limits, together more than 32 MB of heap.
    const files = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`workflows/b${i}.yaml`, bigWorkflow(`b${i}`, 3_000)]));
    const error = await refusal(validator.run(files));
    expect(error.code).toBe('limit_exceeded');
    expect(error.details).toEqual({ limit: 'validation_heap_mb', max: 32 });
    await expect(validator.run(SMALL)).resolves.toMatchObject({ valid: true, workflows: ['w'] });
  });

  it('answers rate_limited to validations beyond the queue bound, and runs the ones it took', async () => {
    validator = new ValidationWorker({ limits: { validationQueue: 2 } });
    // One runs, two wait; the fourth and fifth are refused at once.
    const runs = Array.from({ length: 5 }, () => validator!.run(SMALL));
    const refused = await Promise.all(runs.slice(3).map(refusal));
    for (const error of refused) {
      expect(error.code).toBe('rate_limited');
      expect(error.status).toBe(429);
      expect(error.retryable).toBe(true);
    }
    for (const result of await Promise.all(runs.slice(0, 3))) expect(result.workflows).toEqual(['w']);
  });

  it('keeps its process alive while it validates, and not once idle: a process that validated specs exits by itself', async () => {
    // In a process of its own: a worker left referenced kept `agentry serve` running after SIGTERM.
    const module = new URL('../../src/app/spec-validation.ts', import.meta.url).href;
    const code = `const { validateSpecFiles } = await import(${JSON.stringify(module)});
      const first = await validateSpecFiles(${JSON.stringify(SMALL)});
      const second = await validateSpecFiles({ 'workflows/x.yaml': 'name: x\\nsteps:\\n  a: { nope: 1 }\\n' });
      console.log(first.valid, second.valid);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    // A guard, not a timing assertion: a process kept alive would otherwise hang the test.
    const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
    const [exitCode, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    clearTimeout(guard);
    expect({ exitCode, signal, out: out.trim() }).toEqual({ exitCode: 0, signal: null, out: 'true false' });
  });
});
