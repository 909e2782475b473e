/**
 * The metrics a process derives without the database: committed events → run, step, attempt and
 * task families; the event-loop lag gauge; scrape-time gauges that must never fail a scrape.
 */
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/obs/metrics.js';
import type { EventRecord } from '../../src/types.js';

const event = (type: EventRecord['type'], stepId: string | null = null, data: Record<string, unknown> = {}): EventRecord => ({
  runId: 'run_1',
  seq: 1,
  type,
  stepId,
  data,
  at: 0,
});
const run = {
  workflow: 'wf',
  spec: { steps: { each: { for_each: { from: 'input' }, http: { url: 'x' } }, ask: { human: { title: 't' } }, calc: { transform: 1 } } },
};
const committed = (...events: EventRecord[]) => events.map((e) => ({ event: e, run }));

/** The value of one series in Prometheus text (undefined when absent). */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('Metrics.observeEvents', () => {
  it('counts map items under their map step kind and task events by event', async () => {
    const metrics = new Metrics({ version: 'test', processMetrics: false });
    metrics.observeEvents(
      committed(event('step.succeeded', 'each[3]'), event('step.failed', 'each[4]'), event('task.created', 'ask'), event('task.completed', 'ask')),
    );
    metrics.observeEvents(committed(event('task.created', 'ask')));
    const text = await metrics.text();
    expect(value(text, 'agentry_steps_finished_total{kind="http",status="succeeded"}')).toBe(1);
    expect(value(text, 'agentry_steps_finished_total{kind="http",status="failed"}')).toBe(1);
    expect(value(text, 'agentry_task_events_total{event="created"}')).toBe(2);
    expect(value(text, 'agentry_task_events_total{event="completed"}')).toBe(1);
  });

  it('observes each ended attempt once, with its status, and counts retries and lease expiries', async () => {
    const metrics = new Metrics({ version: 'test', processMetrics: false });
    // A lapsed lease writes step.lease_expired and then step.retry_scheduled for the same attempt.
    metrics.observeEvents(
      committed(
        event('step.lease_expired', 'calc', { attempt: 1, duration_ms: 30_000 }),
        event('step.retry_scheduled', 'calc', { attempt: 1, duration_ms: 30_000 }),
      ),
    );
    metrics.observeEvents(committed(event('step.retry_scheduled', 'calc', { attempt: 2, duration_ms: 200 })));
    metrics.observeEvents(committed(event('step.failed', 'calc', { attempt: 3, duration_ms: 1_500, error: { code: 'step_timeout' } })));
    metrics.observeEvents(committed(event('step.succeeded', 'each[0]', { attempt: 1, duration_ms: 40 })));
    metrics.observeEvents(committed(event('step.cancelled', 'ask', { attempt: 1, reason: 'timed_out', duration_ms: 5 }), event('step.cancelled', 'calc', {})));
    const text = await metrics.text();
    const count = (kind: string, status: string) => value(text, `agentry_step_duration_seconds_count{workflow="wf",kind="${kind}",status="${status}"}`);
    expect(count('transform', 'lease_expired')).toBe(1);
    expect(value(text, 'agentry_step_duration_seconds_sum{workflow="wf",kind="transform",status="lease_expired"}')).toBe(30);
    expect(count('transform', 'retried')).toBe(1);
    expect(count('transform', 'timed_out')).toBe(1);
    expect(count('http', 'succeeded')).toBe(1);
    expect(count('human', 'timed_out')).toBe(1);
    // A step cancelled before any attempt started has no duration to observe.
    expect(count('transform', 'cancelled')).toBeUndefined();
    expect(value(text, 'agentry_step_retries_total{workflow="wf",kind="transform"}')).toBe(2);
    expect(value(text, 'agentry_lease_expiries_total{workflow="wf"}')).toBe(1);
  });
});

describe('scrape-time gauges', () => {
  it('shows the event loop blocked for 300 ms as a lag above 0.1 s (OBS-04)', async () => {
    const metrics = new Metrics({ version: 'test' });
    try {
      await metrics.text(); // a scrape starts a new interval…
      await new Promise((resolve) => setTimeout(resolve, 30)); // …whose first sample only starts the monitor's clock
      const until = Date.now() + 300;
      while (Date.now() < until) {
        // busy: the event loop cannot turn
      }
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(value(await metrics.text(), 'agentry_event_loop_lag_seconds')).toBeGreaterThan(0.1);
    } finally {
      metrics.close();
    }
  });

  it('shows NaN for a database read that fails, reads the database at most once a second, and still serves the rest', async () => {
    const metrics = new Metrics({ version: 'test', processMetrics: false });
    let reads = 0;
    const failing = (): Promise<never> => {
      reads++;
      return Promise.reject(new Error('database down'));
    };
    metrics.use({
      deployment: {
        store: { queueStats: failing, activeRunCounts: failing, openTaskStats: failing, listWorkers: failing, getMaintenance: failing },
        workerTtlMs: 1_000,
      },
      attemptsInFlight: () => new Map([['wf', 2]]),
      workflows: () => ['wf', 'other'],
      workerSlots: () => 4,
      toolServers: () => [{ name: 'fx', state: 'failed', restarts: 2 }],
    });
    const text = await metrics.text();
    expect(value(text, 'agentry_queue_depth')).toBeNaN();
    expect(value(text, 'agentry_queue_oldest_due_age_seconds')).toBeNaN();
    expect(value(text, 'agentry_runs_active{status="running"}')).toBeNaN();
    expect(value(text, 'agentry_workers_live')).toBeNaN();
    expect(value(text, 'agentry_tasks_open')).toBeNaN();
    expect(value(text, 'agentry_maintenance')).toBeNaN();
    expect(value(text, 'agentry_attempts_in_flight{workflow="wf"}')).toBe(2);
    expect(value(text, 'agentry_attempts_in_flight{workflow="other"}')).toBe(0);
    expect(value(text, 'agentry_worker_slots')).toBe(4);
    expect(value(text, 'agentry_tool_server_up{server="fx",state="failed"}')).toBe(1);
    expect(value(text, 'agentry_tool_server_up{server="fx",state="connected"}')).toBe(0);
    expect(value(text, 'agentry_tool_server_restarts_total{server="fx"}')).toBe(2);
    // One read per source (queue stats serve two gauges); a second scrape within the second reads nothing.
    expect(reads).toBe(5);
    await metrics.text();
    expect(reads).toBe(5);
  });
});
