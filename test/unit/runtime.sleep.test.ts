import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { AgentryError } from '../../src/lib/errors.js';
import { createSleepExecutor, DEFAULT_EXECUTOR_SETTINGS, type StepContext } from '../../src/runtime/index.js';

const T0 = Date.parse('2030-01-01T00:00:00.000Z');

function setup(start = T0) {
  const clock = { now: start };
  const executor = createSleepExecutor({ now: () => clock.now });
  const ctx = (state?: unknown): StepContext => ({
    runId: 'run_1',
    stepId: 'wait',
    attempt: 1,
    workflow: 'wf',
    signal: new AbortController().signal,
    state,
    settings: DEFAULT_EXECUTOR_SETTINGS,
    logger: pino({ level: 'silent' }),
  });
  return { clock, executor, ctx };
}

describe('sleep executor', () => {
  it.each([
    ['500ms', 500],
    ['2s', 2000],
    ['1h30m', 5_400_000],
    [1500, 1500],
    [{ duration: '1m' }, 60_000],
  ])('suspends %j until now plus %i ms on first execution', async (config, ms) => {
    const { executor, ctx } = setup();
    const result = await executor.execute(config, ctx());
    expect(result).toEqual({ kind: 'suspend', until: T0 + ms, state: expect.objectContaining({ wake_at: T0 + ms }) as unknown });
  });

  it('suspends until an ISO date or epoch milliseconds given as until', async () => {
    const { executor, ctx } = setup();
    const at = '2030-01-02T00:00:00.000Z';
    expect(await executor.execute({ until: at }, ctx())).toMatchObject({ kind: 'suspend', until: Date.parse(at) });
    expect(await executor.execute({ until: T0 + 42 }, ctx())).toMatchObject({ kind: 'suspend', until: T0 + 42 });
  });

  it('completes with how long it slept when executed again at the wake time', async () => {
    const { clock, executor, ctx } = setup();
    const first = await executor.execute('2s', ctx());
    if (first.kind !== 'suspend') throw new Error('expected suspend');
    clock.now = first.until! + 10;
    const second = await executor.execute('2s', ctx(first.state));
    expect(second).toEqual({ kind: 'output', output: { slept_ms: 2010, woke_at: new Date(T0 + 2010).toISOString() } });
  });

  it('suspends again until wake_at when executed early', async () => {
    const { clock, executor, ctx } = setup();
    const first = await executor.execute('1h', ctx());
    if (first.kind !== 'suspend') throw new Error('expected suspend');
    clock.now = T0 + 1000;
    expect(await executor.execute('1h', ctx(first.state))).toEqual(first);
  });

  it('completes at once when until is already in the past', async () => {
    const { executor, ctx } = setup();
    expect(await executor.execute({ until: T0 - 1 }, ctx())).toMatchObject({ kind: 'output', output: { slept_ms: 0 } });
  });

  it.each([['soon'], [-5], [1.5], [{ duration: 'x' }], [{ until: 'not a date' }], [{ duration: '1s', until: T0 }], [null], [['1s']]])(
    'rejects the rendered config %j as a permanent invalid_request',
    async (config) => {
      const { executor, ctx } = setup();
      const error: unknown = await executor.execute(config, ctx()).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(AgentryError);
      expect(error).toMatchObject({ code: 'invalid_request', retryable: false });
    },
  );
});
