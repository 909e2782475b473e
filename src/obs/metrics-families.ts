/**
 * The families this process records as things happen (counters and histograms), each with
 * its unit and meaning in its help text. The gauges read at scrape time are in
 * `metrics-gauges.ts`; `docs/operations/metrics.md` is the catalogue of both.
 *
 * Labels are bounded: workflow, step kind, model group, provider, tool server and schedule
 * names come from the project's specs and configuration; statuses and outcomes are fixed
 * lists; a tenant label is a tenant id (as bounded as the deployment's tenants).
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Request and handler latencies: 1 ms to 2 min. */
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Step attempts: 10 ms to an hour (sleeps and human steps run long). */
const STEP_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
/** Provider calls: 100 ms to 2 min. */
const LLM_BUCKETS = [0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120];
/** What the gateway adds around a provider call (budget check, ledger write): 0.5 ms to 1 s. */
const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];
/** Waits for an upstream slot: 10 ms to 2 min. */
const QUEUE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];
/** Tool calls: 5 ms to 1 min. */
const TOOL_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Store transactions: 0.5 ms to 10 s. */
const STORE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type Families = ReturnType<typeof createFamilies>;

export function createFamilies(registry: Registry) {
  const registers = [registry];
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers });
  const histogram = <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) =>
    new Histogram<L>({ name, help, labelNames, buckets, registers });
  return {
    // HTTP
    httpDuration: histogram(
      'agentry_http_request_duration_seconds',
      'Seconds from a request arriving to its answer sent, by method, route pattern (`unmatched` for 404s) and status code',
      ['method', 'route', 'status_code'],
      HTTP_BUCKETS,
    ),
    httpHandler: histogram(
      'agentry_http_handler_duration_seconds',
      "Seconds inside a route's handler (the service call), without authentication, parsing and serialisation; by method and route pattern",
      ['method', 'route'],
      HTTP_BUCKETS,
    ),
    rateLimited: counter(
      'agentry_rate_limited_total',
      'API requests this process refused rate_limited, by tenant and the bucket that refused (key or tenant)',
      ['tenant', 'reason'],
    ),
    quotaExceeded: counter(
      'agentry_quota_exceeded_total',
      'Run starts this process refused (or schedule ticks it skipped) for a tenant run quota, by tenant and quota',
      ['tenant', 'quota'],
    ),
    // runs and steps (from the events this process commits)
    runsStarted: counter('agentry_runs_started_total', 'Runs created by this process, by workflow', ['workflow']),
    runsFinished: counter(
      'agentry_runs_finished_total',
      'Runs that ended in this process, by workflow and final status (succeeded, failed, cancelled, timed_out)',
      ['workflow', 'status'],
    ),
    stepsFinished: counter(
      'agentry_steps_finished_total',
      'Steps that ended in this process, by step kind and status (succeeded, failed, skipped, cancelled)',
      ['kind', 'status'],
    ),
    stepDuration: histogram(
      'agentry_step_duration_seconds',
      'Seconds from the start of a step attempt to its end, one observation per attempt ended in this process; status: succeeded, failed, retried, cancelled, timed_out, lease_expired, released',
      ['workflow', 'kind', 'status'],
      STEP_BUCKETS,
    ),
    stepRetries: counter('agentry_step_retries_total', 'Step attempts that failed (or lost their lease) and were scheduled again, by workflow and step kind', [
      'workflow',
      'kind',
    ]),
    leaseExpiries: counter(
      'agentry_lease_expiries_total',
      "Step attempts whose worker stopped renewing the lease (expired by this process's scheduler), by workflow",
      ['workflow'],
    ),
    taskEvents: counter('agentry_task_events_total', 'Human tasks created, completed, escalated, expired or cancelled in this process', ['event']),
    // schedules
    scheduleTicks: counter(
      'agentry_schedule_ticks_total',
      "Schedule ticks this process's scheduler handled, by schedule (its workflow) and outcome: started (a run), skipped (overlap, a run quota, an error), refused (the run breaks the active environment's policy)",
      ['schedule', 'outcome'],
    ),
    scheduleMissed: counter(
      'agentry_schedule_missed_ticks_total',
      'Times a schedule found ticks that passed while no scheduler ran (skipped by catch_up: none, or made up by one run), by schedule',
      ['schedule'],
    ),
    retentionPruned: counter(
      'agentry_retention_pruned_total',
      "Rows this process's scheduler deleted under the run retention, by kind: runs (with their rows), events (of ended runs), idempotency_keys, memory (agent conversation messages)",
      ['kind'],
    ),
    // LLM gateway
    llmRequests: counter(
      'agentry_llm_requests_total',
      'LLM call attempts made by the gateway in this process, by model group, provider and status (ok, error, cancelled, refused by a budget)',
      ['model_group', 'provider', 'status'],
    ),
    llmTokens: counter('agentry_llm_tokens_total', 'LLM tokens of recorded attempts, by model group, provider and type (input, output)', [
      'model_group',
      'provider',
      'type',
    ]),
    llmCost: counter('agentry_llm_cost_usd_total', 'Cost in US dollars of recorded LLM attempts (at the prices of gateway.yaml), by model group and provider', [
      'model_group',
      'provider',
    ]),
    llmDuration: histogram(
      'agentry_llm_request_duration_seconds',
      'Seconds the provider took to answer an attempt (a stream: to its last chunk), by model group, provider and status',
      ['model_group', 'provider', 'status'],
      LLM_BUCKETS,
    ),
    gatewayAdded: histogram(
      'agentry_gateway_added_latency_seconds',
      'Seconds the gateway adds around each provider attempt (budget check and reservation, ledger write), by model group',
      ['model_group'],
      OVERHEAD_BUCKETS,
    ),
    budgetRefusals: counter(
      'agentry_llm_budget_refusals_total',
      'LLM calls refused before they were sent because they would break a budget, by the budget scope (run, workflow, tenant)',
      ['scope'],
    ),
    upstreamQueueSeconds: histogram(
      'agentry_llm_upstream_queue_seconds',
      "Seconds an LLM call waited for a slot under its provider's and target's upstream limits (0: it had room at once), by model group and provider",
      ['model_group', 'provider'],
      QUEUE_BUCKETS,
    ),
    upstreamQueueLength: new Gauge<'provider'>({
      name: 'agentry_llm_upstream_queue_length',
      help: 'LLM calls of this process waiting now for a slot under the upstream limits, by provider',
      labelNames: ['provider'],
      registers,
    }),
    upstreamThrottled: counter(
      'agentry_llm_upstream_throttled_total',
      'LLM calls refused upstream_throttled (no slot under the upstream limits before their deadline), by model group and provider',
      ['model_group', 'provider'],
    ),
    // MCP tool servers
    toolCalls: counter('agentry_tool_calls_total', 'MCP tool calls made by this process, by tool server and status (ok, error, denied, timeout)', [
      'server',
      'status',
    ]),
    toolDuration: histogram(
      'agentry_tool_call_duration_seconds',
      'Seconds an MCP tool call took (connecting included), by tool server',
      ['server'],
      TOOL_BUCKETS,
    ),
    // agent guardrails
    guardrailTriggers: counter(
      'agentry_guardrail_triggers_total',
      'Agent guardrail checks that fired, by agent, check (json_schema, regex, pii, max_length) and action (block, redact, review)',
      ['agent', 'check', 'action'],
    ),
    // the store
    storeTransactions: histogram(
      'agentry_store_transaction_duration_seconds',
      'Seconds a write transaction took (its retries included), by outcome: committed, rolled_back (by its caller), failed (in the database)',
      ['outcome'],
      STORE_BUCKETS,
    ),
    storeRetries: counter('agentry_store_transaction_retries_total', 'Write transactions tried again after a transient database error'),
    storeErrors: counter(
      'agentry_store_transaction_errors_total',
      'Write transactions that failed for good in the database (an outage that outlasted the retries, a commit cut off)',
    ),
  };
}
