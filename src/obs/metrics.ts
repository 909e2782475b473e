/**
 * Prometheus metrics of one process, in a registry of its own (never prom-client's global
 * one, so several apps in one process — tests — do not collide). `METRIC_NAMES` lists the
 * Agentry families; `docs/api.md` lists the same names and a test checks them against the
 * live `/metrics` output.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { STEP_KINDS } from '../spec/model.js';
import type { EventRecord, RunRecord } from '../types.js';

export const METRIC_NAMES = [
  'agentry_build_info',
  'agentry_http_request_duration_seconds',
  'agentry_runs_started_total',
  'agentry_runs_finished_total',
  'agentry_steps_finished_total',
  'agentry_attempts_in_flight',
  'agentry_queue_depth',
  'agentry_task_events_total',
  'agentry_rate_limited_total',
  'agentry_quota_exceeded_total',
] as const;

export interface MetricsSources {
  version: string;
  /** Attempts this process is running now. */
  attemptsInFlight?: () => number;
  /** Steps due now (queued or waiting and past `available_at`). */
  queueDepth?: () => Promise<number>;
  /** Collect Node's default process metrics (process_*, nodejs_*). Default true. */
  processMetrics?: boolean;
}

const RUN_FINISHED = new Set(['run.succeeded', 'run.failed', 'run.cancelled', 'run.timed_out']);
const STEP_FINISHED = new Set(['step.succeeded', 'step.failed', 'step.skipped', 'step.cancelled']);

export class Metrics {
  readonly registry = new Registry();
  readonly httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  readonly runsStarted: Counter<'workflow'>;
  readonly runsFinished: Counter<'workflow' | 'status'>;
  readonly stepsFinished: Counter<'kind' | 'status'>;
  readonly taskEvents: Counter<'event'>;
  readonly rateLimited: Counter<'tenant' | 'reason'>;
  readonly quotaExceeded: Counter<'tenant' | 'quota'>;

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    new Gauge({ name: 'agentry_build_info', help: 'Agentry build; the value is always 1', labelNames: ['version'], registers }).set(
      { version: sources.version },
      1,
    );
    this.httpDuration = new Histogram({
      name: 'agentry_http_request_duration_seconds',
      help: 'HTTP request duration by method, route pattern and status code',
      labelNames: ['method', 'route', 'status_code'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.runsStarted = new Counter({
      name: 'agentry_runs_started_total',
      help: 'Runs created by this process, by workflow',
      labelNames: ['workflow'],
      registers,
    });
    this.runsFinished = new Counter({
      name: 'agentry_runs_finished_total',
      help: 'Runs that ended in this process, by workflow and final status',
      labelNames: ['workflow', 'status'],
      registers,
    });
    this.stepsFinished = new Counter({
      name: 'agentry_steps_finished_total',
      help: 'Steps that ended in this process, by step kind and status',
      labelNames: ['kind', 'status'],
      registers,
    });
    this.taskEvents = new Counter({
      name: 'agentry_task_events_total',
      help: 'Human tasks created, completed, escalated, expired or cancelled in this process',
      labelNames: ['event'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'agentry_rate_limited_total',
      help: 'API requests this process refused rate_limited, by tenant and the bucket that refused (key or tenant)',
      labelNames: ['tenant', 'reason'],
      registers,
    });
    this.quotaExceeded = new Counter({
      name: 'agentry_quota_exceeded_total',
      help: 'Run starts this process refused (or schedule ticks it skipped) for a tenant run quota, by tenant and quota',
      labelNames: ['tenant', 'quota'],
      registers,
    });
    const { attemptsInFlight, queueDepth } = sources;
    new Gauge({
      name: 'agentry_attempts_in_flight',
      help: 'Step attempts this process is executing now',
      registers,
      collect() {
        this.set(attemptsInFlight?.() ?? 0);
      },
    });
    new Gauge({
      name: 'agentry_queue_depth',
      help: 'Steps that are due now and not yet claimed by a worker',
      registers,
      async collect() {
        if (!queueDepth) return;
        try {
          this.set(await queueDepth());
        } catch {
          this.set(Number.NaN);
        }
      },
    });
    if (sources.processMetrics !== false) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts runs and steps from committed events (see `EventFeed`). */
  observeEvent(event: EventRecord, run: Pick<RunRecord, 'workflow' | 'spec'>): void {
    if (event.type === 'run.created') this.runsStarted.inc({ workflow: run.workflow });
    else if (RUN_FINISHED.has(event.type)) this.runsFinished.inc({ workflow: run.workflow, status: event.type.slice('run.'.length) });
    else if (STEP_FINISHED.has(event.type) && event.stepId !== null) {
      this.stepsFinished.inc({ kind: stepKind(run.spec, event.stepId), status: event.type.slice('step.'.length) });
    } else if (event.type.startsWith('task.')) this.taskEvents.inc({ event: event.type.slice('task.'.length) });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** The kind of a step, read from the run's spec snapshot (`steps.<id>.<kind>: …`). */
function stepKind(spec: unknown, stepId: string): string {
  const id = stepId.includes('[') ? stepId.slice(0, stepId.indexOf('[')) : stepId; // an item counts as its map step's kind
  const step = (spec as { steps?: Record<string, unknown> } | null)?.steps?.[id];
  if (typeof step !== 'object' || step === null) return 'unknown';
  return STEP_KINDS.find((kind) => Object.hasOwn(step, kind)) ?? 'unknown';
}
