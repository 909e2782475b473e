/**
 * Prometheus metrics of one process, in a registry of its own (never prom-client's global
 * one, so several apps in one process — tests — do not collide). One `Metrics` per process
 * (`openAgentry` makes it): the layers below tell it what happens through their observer
 * interfaces, which it implements (`StoreObserver`, the gateway's `GatewayObserver`, the tool
 * hub's `ToolObserver`, the scheduler's `ScheduleObserver`), the engine's committed events
 * feed `observeEvents`, and the process attaches what the gauges read at scrape time with
 * `use`. `METRIC_NAMES` lists the Agentry families; `docs/operations/metrics.md` is their
 * catalogue, and a test checks both against a live `/metrics`.
 */
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { StoreObserver, TransactionOutcome } from '../store/store.js';
import type { CallRecord } from '../types.js';
import { createFamilies, type Families } from './metrics-families.js';
import { observeEvents, type ObservedEvent } from './metrics-events.js';
import { registerGauges, type MetricsSources } from './metrics-gauges.js';

export type { BudgetUsage, MetricsSources } from './metrics-gauges.js';

export const METRIC_NAMES = [
  'agentry_build_info',
  'agentry_http_request_duration_seconds',
  'agentry_http_handler_duration_seconds',
  'agentry_rate_limited_total',
  'agentry_quota_exceeded_total',
  'agentry_runs_started_total',
  'agentry_runs_finished_total',
  'agentry_runs_active',
  'agentry_steps_finished_total',
  'agentry_step_duration_seconds',
  'agentry_step_retries_total',
  'agentry_lease_expiries_total',
  'agentry_attempts_in_flight',
  'agentry_worker_slots',
  'agentry_workers_live',
  'agentry_maintenance',
  'agentry_queue_depth',
  'agentry_queue_oldest_due_age_seconds',
  'agentry_task_events_total',
  'agentry_tasks_open',
  'agentry_tasks_oldest_open_age_seconds',
  'agentry_schedule_ticks_total',
  'agentry_schedule_missed_ticks_total',
  'agentry_retention_pruned_total',
  'agentry_llm_requests_total',
  'agentry_llm_tokens_total',
  'agentry_llm_cost_usd_total',
  'agentry_llm_request_duration_seconds',
  'agentry_gateway_added_latency_seconds',
  'agentry_llm_budget_refusals_total',
  'agentry_llm_upstream_queue_seconds',
  'agentry_llm_upstream_queue_length',
  'agentry_llm_upstream_throttled_total',
  'agentry_llm_budget_used_ratio',
  'agentry_tool_calls_total',
  'agentry_tool_call_duration_seconds',
  'agentry_tool_server_up',
  'agentry_tool_server_restarts_total',
  'agentry_guardrail_triggers_total',
  'agentry_store_transaction_duration_seconds',
  'agentry_store_transaction_retries_total',
  'agentry_store_transaction_errors_total',
  'agentry_event_loop_lag_seconds',
] as const;

export interface MetricsOptions {
  version: string;
  /** Node's default process metrics (process_*, nodejs_*) and the event-loop lag gauge. Default true. */
  processMetrics?: boolean;
}

/** `CallRecord.outcome` → the status label of the LLM families. */
const LLM_STATUS: Record<CallRecord['outcome'], string> = { ok: 'ok', error: 'error', cancelled: 'cancelled', budget_exceeded: 'refused' };

export class Metrics implements StoreObserver {
  readonly registry = new Registry();
  private readonly f: Families;
  private sources: MetricsSources = {};
  private readonly stopEventLoop: () => void;

  constructor(options: MetricsOptions) {
    const processMetrics = options.processMetrics !== false;
    this.f = createFamilies(this.registry);
    this.stopEventLoop = registerGauges(this.registry, options.version, () => this.sources, processMetrics);
    if (processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Attaches (or replaces) what the scrape-time gauges read. */
  use(sources: MetricsSources): void {
    this.sources = { ...this.sources, ...sources };
  }

  /** Counts runs, steps, attempts and tasks from one committed transaction's events (see `metrics-events.ts`). */
  observeEvents(events: readonly ObservedEvent[]): void {
    observeEvents(this.f, events);
  }

  // HTTP (the server)

  httpRequest(method: string, route: string, statusCode: number, seconds: number): void {
    this.f.httpDuration.observe({ method, route, status_code: String(statusCode) }, seconds);
  }

  httpHandler(method: string, route: string, seconds: number): void {
    this.f.httpHandler.observe({ method, route }, seconds);
  }

  rateLimited(tenant: string, reason: string): void {
    this.f.rateLimited.inc({ tenant, reason });
  }

  quotaExceeded(tenant: string, quota: string): void {
    this.f.quotaExceeded.inc({ tenant, quota });
  }

  // The store (`StoreObserver`)

  transactionEnded(outcome: TransactionOutcome, seconds: number): void {
    this.f.storeTransactions.observe({ outcome }, seconds);
    if (outcome === 'failed') this.f.storeErrors.inc();
  }

  transactionRetried(): void {
    this.f.storeRetries.inc();
  }

  // The LLM gateway (`GatewayObserver`)

  llmCall(record: CallRecord, timing: { providerSeconds: number; gatewaySeconds: number } | undefined): void {
    const { group: model_group, provider } = record;
    const status = LLM_STATUS[record.outcome];
    this.f.llmRequests.inc({ model_group, provider, status });
    if (record.inputTokens > 0) this.f.llmTokens.inc({ model_group, provider, type: 'input' }, record.inputTokens);
    if (record.outputTokens > 0) this.f.llmTokens.inc({ model_group, provider, type: 'output' }, record.outputTokens);
    if (record.costUsd > 0) this.f.llmCost.inc({ model_group, provider }, record.costUsd);
    if (timing === undefined) return;
    this.f.llmDuration.observe({ model_group, provider, status }, timing.providerSeconds);
    this.f.gatewayAdded.observe({ model_group }, Math.max(0, timing.gatewaySeconds));
  }

  budgetRefused(scope: string): void {
    this.f.budgetRefusals.inc({ scope });
  }

  upstreamQueueChanged(provider: string, delta: 1 | -1): void {
    this.f.upstreamQueueLength.inc({ provider }, delta);
  }

  upstreamQueued(provider: string, group: string, seconds: number): void {
    this.f.upstreamQueueSeconds.observe({ model_group: group, provider }, seconds);
  }

  upstreamThrottled(provider: string, group: string): void {
    this.f.upstreamThrottled.inc({ model_group: group, provider });
  }

  // MCP tool servers (`ToolObserver`)

  toolCall(server: string, status: string, seconds: number): void {
    this.f.toolCalls.inc({ server, status });
    this.f.toolDuration.observe({ server }, seconds);
  }

  // Agent guardrails (`GuardrailObserver` of runtime/agent.ts)

  guardrailTriggered(agent: string, check: string, action: string): void {
    this.f.guardrailTriggers.inc({ agent, check, action });
  }

  // Schedules (`ScheduleObserver`)

  scheduleTick(schedule: string, outcome: 'started' | 'skipped' | 'refused'): void {
    this.f.scheduleTicks.inc({ schedule, outcome });
  }

  scheduleMissed(schedule: string): void {
    this.f.scheduleMissed.inc({ schedule });
  }

  // Retention (`RetentionObserver` of app/retention.ts)

  retentionPruned(kind: 'runs' | 'events' | 'idempotency_keys' | 'memory', count: number): void {
    if (count > 0) this.f.retentionPruned.inc({ kind }, count);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Stops the event-loop monitor. */
  close(): void {
    this.stopEventLoop();
  }
}
