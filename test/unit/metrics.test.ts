import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/obs/metrics.js';
import type { EventRecord } from '../../src/types.js';

const event = (type: EventRecord['type'], stepId: string | null = null): EventRecord => ({ runId: 'run_1', seq: 1, type, stepId, data: {}, at: 0 });
const run = { workflow: 'wf', spec: { steps: { each: { for_each: { from: 'input' }, http: { url: 'x' } }, ask: { human: { title: 't' } } } } };

describe('Metrics.observeEvents', () => {
  it('counts map items under their map step kind and task events by event', async () => {
    const metrics = new Metrics({ version: 'test', processMetrics: false });
    const events = [event('step.succeeded', 'each[3]'), event('step.failed', 'each[4]'), event('task.created', 'ask'), event('task.completed', 'ask')];
    metrics.observeEvents(events.map((e) => ({ event: e, run })));
    metrics.observeEvents([{ event: event('task.created', 'ask'), run }]);
    const text = await metrics.text();
    expect(text).toContain('agentry_steps_finished_total{kind="http",status="succeeded"} 1');
    expect(text).toContain('agentry_steps_finished_total{kind="http",status="failed"} 1');
    expect(text).toContain('agentry_task_events_total{event="created"} 2');
    expect(text).toContain('agentry_task_events_total{event="completed"} 1');
  });
});
