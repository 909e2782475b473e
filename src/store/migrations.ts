/**
 * Forward-only, numbered migrations. Append new entries; never edit or remove one that
 * has shipped. Each entry holds the statements for each dialect and is applied in one
 * transaction (`migrate.ts`). The resulting DDL is committed as `docs/operations/schema.sqlite.sql`
 * and `docs/operations/schema.postgres.sql`: after changing this list, regenerate them with
 * `npm run schema:dump`; `test/integration/store.schema.test.ts` fails while they are stale.
 */
import { GENESIS_HASH } from './audit-chain.js';

export interface Migration {
  version: number;
  name: string;
  sqlite: string[];
  postgres: string[];
}

const JSON_TEXT = 'TEXT';

function coreTables(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE runs (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL,
      workflow TEXT NOT NULL,
      spec_hash TEXT NOT NULL,
      spec ${JSON_TEXT} NOT NULL,
      status TEXT NOT NULL,
      input ${JSON_TEXT} NOT NULL,
      output ${JSON_TEXT},
      error ${JSON_TEXT},
      priority INTEGER NOT NULL DEFAULT 0,
      created_at ${ts} NOT NULL,
      started_at ${ts},
      finished_at ${ts},
      deadline_at ${ts},
      updated_at ${ts} NOT NULL,
      event_seq INTEGER NOT NULL DEFAULT 0
    )`,
    `CREATE INDEX runs_by_created ON runs (tenant_id, created_at DESC, id DESC)`,
    `CREATE INDEX runs_by_status ON runs (tenant_id, status, created_at DESC, id DESC)`,
    `CREATE INDEX runs_by_workflow ON runs (tenant_id, workflow, created_at DESC, id DESC)`,
    `CREATE INDEX runs_by_deadline ON runs (deadline_at) WHERE deadline_at IS NOT NULL AND status IN ('queued', 'running', 'waiting')`,
    `CREATE TABLE steps (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      step_id TEXT NOT NULL,
      kind TEXT NOT NULL,
      status TEXT NOT NULL,
      attempt INTEGER NOT NULL DEFAULT 0,
      priority INTEGER NOT NULL DEFAULT 0,
      available_at ${ts},
      lease_owner TEXT,
      lease_expires_at ${ts},
      input ${JSON_TEXT},
      output ${JSON_TEXT},
      error ${JSON_TEXT},
      state ${JSON_TEXT},
      meta ${JSON_TEXT},
      started_at ${ts},
      finished_at ${ts},
      updated_at ${ts} NOT NULL,
      PRIMARY KEY (run_id, step_id)
    )`,
    `CREATE INDEX steps_due ON steps (priority DESC, available_at) WHERE status IN ('queued', 'waiting')`,
    `CREATE INDEX steps_leases ON steps (lease_expires_at) WHERE status = 'running'`,
    `CREATE TABLE attempts (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      step_id TEXT NOT NULL,
      attempt INTEGER NOT NULL,
      status TEXT NOT NULL,
      worker_id TEXT,
      input ${JSON_TEXT},
      output ${JSON_TEXT},
      error ${JSON_TEXT},
      started_at ${ts} NOT NULL,
      finished_at ${ts},
      PRIMARY KEY (run_id, step_id, attempt)
    )`,
    `CREATE TABLE events (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      seq INTEGER NOT NULL,
      type TEXT NOT NULL,
      step_id TEXT,
      data ${JSON_TEXT} NOT NULL,
      at ${ts} NOT NULL,
      PRIMARY KEY (run_id, seq)
    )`,
    `CREATE TABLE workers (
      id TEXT PRIMARY KEY,
      host TEXT NOT NULL,
      pid INTEGER NOT NULL,
      roles TEXT NOT NULL,
      concurrency INTEGER NOT NULL,
      started_at ${ts} NOT NULL,
      heartbeat_at ${ts} NOT NULL
    )`,
  ];
}

function idempotencyKeys(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE idempotency_keys (
      tenant_id TEXT NOT NULL,
      key TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      created_at ${ts} NOT NULL,
      PRIMARY KEY (tenant_id, key)
    )`,
    `CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at)`,
  ];
}

/** `nextDueAt` (how long an idle worker may sleep) reads the earliest due time without a sort. */
const NEXT_DUE_INDEX = `CREATE INDEX steps_next_due ON steps (available_at) WHERE status IN ('queued', 'waiting')`;

function usageAndJournal(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const real = dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  return [
    // One row per attempt of an LLM call (the gateway's ledger); no foreign key: calls through
    // the OpenAI-compatible endpoint belong to no run.
    `CREATE TABLE llm_calls (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL,
      run_id TEXT,
      step_id TEXT,
      workflow TEXT,
      model_group TEXT NOT NULL,
      provider TEXT NOT NULL,
      model TEXT NOT NULL,
      input_tokens INTEGER NOT NULL,
      output_tokens INTEGER NOT NULL,
      cost_usd ${real} NOT NULL,
      latency_ms INTEGER NOT NULL,
      outcome TEXT NOT NULL,
      error_code TEXT,
      day TEXT NOT NULL,
      at ${ts} NOT NULL
    )`,
    `CREATE INDEX llm_calls_by_run ON llm_calls (run_id) WHERE run_id IS NOT NULL`,
    `CREATE INDEX llm_calls_by_workflow_day ON llm_calls (tenant_id, workflow, day)`,
    `CREATE INDEX llm_calls_by_tenant_day ON llm_calls (tenant_id, day)`,
    // What a step already did (agent turns, tool calls), kept across its attempts.
    `CREATE TABLE step_journal (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      step_id TEXT NOT NULL,
      key TEXT NOT NULL,
      data ${JSON_TEXT} NOT NULL,
      at ${ts} NOT NULL,
      PRIMARY KEY (run_id, step_id, key)
    )`,
  ];
}

function flow(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    // Sub-runs, re-runs and concurrency keys.
    `ALTER TABLE runs ADD COLUMN parent_run_id TEXT`,
    `ALTER TABLE runs ADD COLUMN parent_step_id TEXT`,
    `ALTER TABLE runs ADD COLUMN retry_of TEXT`,
    `ALTER TABLE runs ADD COLUMN concurrency_key TEXT`,
    `CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL`,
    `CREATE INDEX runs_by_concurrency ON runs (concurrency_key, status) WHERE concurrency_key IS NOT NULL`,
    // Items of a for_each step are steps of their own: `<step>[<index>]` with the map step as parent.
    `ALTER TABLE steps ADD COLUMN parent_step TEXT`,
    `ALTER TABLE steps ADD COLUMN item_index INTEGER`,
    `ALTER TABLE steps ADD COLUMN item ${JSON_TEXT}`,
    `CREATE INDEX steps_items ON steps (run_id, parent_step, item_index) WHERE parent_step IS NOT NULL`,
    `CREATE TABLE tasks (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL,
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      step_id TEXT NOT NULL,
      workflow TEXT NOT NULL,
      kind TEXT NOT NULL,
      status TEXT NOT NULL,
      title TEXT NOT NULL,
      instructions TEXT,
      form_schema ${JSON_TEXT},
      role TEXT,
      assignees ${JSON_TEXT},
      context ${JSON_TEXT},
      due_at ${ts},
      escalations INTEGER NOT NULL DEFAULT 0,
      decision TEXT,
      response ${JSON_TEXT},
      comment TEXT,
      decided_by TEXT,
      decided_at ${ts},
      lock_owner TEXT,
      lock_until ${ts},
      created_at ${ts} NOT NULL,
      updated_at ${ts} NOT NULL
    )`,
    `CREATE INDEX tasks_by_status ON tasks (tenant_id, status, created_at DESC, id DESC)`,
    `CREATE INDEX tasks_by_run ON tasks (run_id, step_id)`,
    `CREATE TABLE signals (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      payload ${JSON_TEXT} NOT NULL,
      received_at ${ts} NOT NULL,
      PRIMARY KEY (run_id, name)
    )`,
    `CREATE TABLE schedules (
      workflow TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL,
      cron TEXT NOT NULL,
      timezone TEXT NOT NULL,
      input ${JSON_TEXT} NOT NULL,
      overlap TEXT NOT NULL,
      catch_up TEXT NOT NULL,
      paused INTEGER NOT NULL DEFAULT 0,
      next_at ${ts},
      last_tick_at ${ts},
      last_run_id TEXT,
      updated_at ${ts} NOT NULL
    )`,
  ];
}

/**
 * Who started each run (`created_by`: an API key's name, the CLI's user, `schedule:<workflow>`):
 * keys without `runs:read:all` / `runs:write:all` act only on their own runs. Runs stored before
 * this have none, and only those scopes reach them. The index serves a key's own listing.
 */
const RUN_OWNER = [`ALTER TABLE runs ADD COLUMN created_by TEXT`, `CREATE INDEX runs_by_owner ON runs (tenant_id, created_by, created_at DESC, id DESC)`];

/**
 * The audit log: an append-only hash chain (`audit-chain.ts`). `audit_head` is its one head
 * row: appends lock it (PostgreSQL `FOR UPDATE`; SQLite serialises writers anyway), so
 * concurrent appends form one chain; it also keeps the anchor that retention leaves behind.
 */
function auditLog(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE audit_log (
      seq ${ts} PRIMARY KEY,
      id TEXT NOT NULL UNIQUE,
      at ${ts} NOT NULL,
      tenant_id TEXT,
      principal TEXT NOT NULL,
      action TEXT NOT NULL,
      target TEXT,
      request_id TEXT,
      outcome TEXT NOT NULL,
      client_ip TEXT,
      details ${JSON_TEXT},
      prev_hash TEXT NOT NULL,
      hash TEXT NOT NULL
    )`,
    `CREATE INDEX audit_log_by_at ON audit_log (at)`,
    `CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, seq DESC)`,
    `CREATE TABLE audit_head (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      seq ${ts} NOT NULL,
      hash TEXT NOT NULL,
      pruned_seq ${ts} NOT NULL,
      pruned_hash TEXT NOT NULL
    )`,
    `INSERT INTO audit_head (id, seq, hash, pruned_seq, pruned_hash) VALUES (1, 0, '${GENESIS_HASH}', 0, '${GENESIS_HASH}')`,
  ];
}

/**
 * Managed API keys (`app/keys.ts`). Only `secret_hash` of a key's secret is kept: SHA-256 (hex)
 * of the whole presented key. A plain fast hash is enough here because the secret is 32 random
 * bytes (256 bits): a slow password hash (bcrypt, scrypt) protects guessable passwords from
 * brute force, and nothing can enumerate 2^256 secrets, while every request checks a key. `prefix`
 * (`agk_<id>`) is the public part, for display. The partial unique index allows one current key
 * per (tenant, name): a revoked key, or one a rotate replaced (`replaced_by`, valid until
 * `grace_until`), no longer counts. `api_key_revision` is a counter every change of the table
 * bumps in its transaction (the row lock orders the bumps): API processes poll it to know when
 * to reload their cache of keys.
 */
function apiKeys(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE api_keys (
      id TEXT PRIMARY KEY,
      tenant_id TEXT NOT NULL,
      name TEXT NOT NULL,
      grants ${JSON_TEXT} NOT NULL,
      secret_hash TEXT NOT NULL,
      prefix TEXT NOT NULL,
      created_at ${ts} NOT NULL,
      created_by TEXT NOT NULL,
      expires_at ${ts},
      revoked_at ${ts},
      revoked_by TEXT,
      last_used_at ${ts},
      rotated_from TEXT,
      replaced_by TEXT,
      grace_until ${ts},
      updated_at ${ts} NOT NULL
    )`,
    `CREATE UNIQUE INDEX api_keys_current_name ON api_keys (tenant_id, name) WHERE revoked_at IS NULL AND replaced_by IS NULL`,
    `CREATE INDEX api_keys_by_created ON api_keys (tenant_id, created_at DESC, id DESC)`,
    `CREATE TABLE api_key_revision (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      revision ${ts} NOT NULL
    )`,
    `INSERT INTO api_key_revision (id, revision) VALUES (1, 0)`,
  ];
}

/**
 * LLM budgets enforced across processes (`sql/budgets.ts`): a counter per budget scope and
 * period (what the ledger holds for it, kept up to date as calls are recorded) and the worst
 * cases of attempts in flight, each held until the attempt is recorded or its reservation expires.
 */
function budgetReservations(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const real = dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  return [
    `CREATE TABLE budget_counters (
      scope_key TEXT PRIMARY KEY,
      spent_tokens ${ts} NOT NULL,
      spent_usd ${real} NOT NULL,
      updated_at ${ts} NOT NULL
    )`,
    `CREATE INDEX budget_counters_by_updated ON budget_counters (updated_at)`,
    `CREATE TABLE budget_reservations (
      id TEXT NOT NULL,
      scope_key TEXT NOT NULL,
      tokens ${ts} NOT NULL,
      cost_usd ${real} NOT NULL,
      created_at ${ts} NOT NULL,
      expires_at ${ts} NOT NULL,
      PRIMARY KEY (id, scope_key)
    )`,
    `CREATE INDEX budget_reservations_by_scope ON budget_reservations (scope_key, expires_at)`,
    `CREATE INDEX budget_reservations_by_expiry ON budget_reservations (expires_at)`,
  ];
}

/**
 * Idempotency keys per tenant *and principal*: two keys of one tenant may use the same
 * `Idempotency-Key` for different requests. A key stored before this belongs to the starter of
 * its run (`runs.created_by`; `''` when the run has none). SQLite cannot change a primary key,
 * so the table is rebuilt there.
 */
const IDEMPOTENCY_PER_PRINCIPAL = {
  sqlite: [
    `CREATE TABLE idempotency_keys_v8 (
      tenant_id TEXT NOT NULL,
      principal TEXT NOT NULL,
      key TEXT NOT NULL,
      request_hash TEXT NOT NULL,
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      created_at INTEGER NOT NULL,
      PRIMARY KEY (tenant_id, principal, key)
    )`,
    `INSERT INTO idempotency_keys_v8 (tenant_id, principal, key, request_hash, run_id, created_at)
      SELECT k.tenant_id, COALESCE(r.created_by, ''), k.key, k.request_hash, k.run_id, k.created_at
      FROM idempotency_keys k LEFT JOIN runs r ON r.id = k.run_id`,
    `DROP TABLE idempotency_keys`,
    `ALTER TABLE idempotency_keys_v8 RENAME TO idempotency_keys`,
    `CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at)`,
  ],
  postgres: [
    `ALTER TABLE idempotency_keys ADD COLUMN principal TEXT NOT NULL DEFAULT ''`,
    `UPDATE idempotency_keys k SET principal = r.created_by FROM runs r WHERE r.id = k.run_id AND r.created_by IS NOT NULL`,
    `ALTER TABLE idempotency_keys ALTER COLUMN principal DROP DEFAULT`,
    `ALTER TABLE idempotency_keys DROP CONSTRAINT idempotency_keys_pkey`,
    `ALTER TABLE idempotency_keys ADD PRIMARY KEY (tenant_id, principal, key)`,
  ],
};

/**
 * Request rate limits: one token bucket per row (`sql/limits.ts`), shared by every API process
 * on the database. `full_at` is when the bucket is full again; rows past it are deleted.
 */
function rateBuckets(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const real = dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  return [
    `CREATE TABLE rate_buckets (
      bucket TEXT PRIMARY KEY,
      tokens ${real} NOT NULL,
      updated_at ${ts} NOT NULL,
      full_at ${ts} NOT NULL,
      taken INTEGER NOT NULL
    )`,
    `CREATE INDEX rate_buckets_by_full_at ON rate_buckets (full_at)`,
  ];
}

/**
 * The run each audit entry is about (`audit-chain.ts` `auditRunId`), so the log can be listed
 * by run: the target's id when it is `run:<id>`, else `details.run_id`; filled in for the
 * entries already there. Not hashed: verification checks it follows from what is.
 */
function auditRunIds(dialect: 'sqlite' | 'postgres'): string[] {
  const detailsRunId = dialect === 'sqlite' ? `json_extract(details, '$.run_id')` : `(details::jsonb ->> 'run_id')`;
  return [
    `ALTER TABLE audit_log ADD COLUMN run_id TEXT`,
    `UPDATE audit_log SET run_id = CASE WHEN target LIKE 'run:%' THEN substr(target, 5) ELSE ${detailsRunId} END`,
    `CREATE INDEX audit_log_by_run ON audit_log (run_id, seq)`,
  ];
}

/**
 * The W3C trace context of each run's span (`obs/run-trace.ts`), so a worker on another host,
 * or after a restart, continues the run's trace. Null for runs created while tracing was off.
 */
const RUN_TRACE_CONTEXT = [`ALTER TABLE runs ADD COLUMN trace_context TEXT`];

/**
 * Partial indexes over what has not ended, for the metrics gauges read at every scrape
 * (`agentry_runs_active`, `agentry_tasks_open`): counting them must not scan every run or task
 * ever kept.
 */
const METRICS_INDEXES = [
  `CREATE INDEX runs_active ON runs (status) WHERE status IN ('queued', 'running', 'waiting')`,
  `CREATE INDEX tasks_open ON tasks (created_at) WHERE status = 'open'`,
];

/**
 * The event query across runs (`sql/event-query.ts`, `GET /v1/events`) reads events in time
 * order: this index bounds a time window, and is the order its keyset cursor follows.
 */
const EVENTS_BY_TIME = [`CREATE INDEX events_by_time ON events (at, run_id, seq)`];

/**
 * Day-two operations: how long each migration took (`agentry migrate status`), a drain request
 * on a worker's row (`agentry workers drain`: it stops claiming, finishes its steps and exits),
 * and the fleet's maintenance switch (`agentry maintenance on`: no worker claims a step while
 * its one row exists; `id` is always 1).
 */
function operations(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `ALTER TABLE schema_migrations ADD COLUMN duration_ms ${ts}`,
    `ALTER TABLE workers ADD COLUMN drain_requested_at ${ts}`,
    `CREATE TABLE maintenance (
      id INTEGER PRIMARY KEY CHECK (id = 1),
      reason TEXT,
      started_at ${ts} NOT NULL,
      started_by TEXT NOT NULL
    )`,
  ];
}

/** Retention (`sql/retention.ts`) finds ended runs by status and end time. */
const RUNS_BY_END = [`CREATE INDEX runs_by_end ON runs (status, finished_at) WHERE finished_at IS NOT NULL`];

/**
 * Quiesce (`agentry maintenance on --quiesce`): the maintenance row says whether the API refuses
 * new work while workers finish the runs already accepted (1), or workers claim nothing (0).
 */
const MAINTENANCE_QUIESCE = [`ALTER TABLE maintenance ADD COLUMN quiesce INTEGER NOT NULL DEFAULT 0`];

/**
 * `for_each` items counted per status on the side (`step_item_counts`, one row per map step and
 * status), so that settling a map after each item reads a handful of rows instead of every item
 * (`sql/items.ts`). Triggers on `steps` keep the counts exact whatever changes an item (a
 * transition, a claim, a lapsed lease, a cancel, a deleted run); the migration counts the items
 * already there. Two partial indexes bound the other per-item reads: the next pending items of a
 * map, and a run's top-level steps (read by each transaction, which must not scan the items).
 */
function itemCounts(dialect: 'sqlite' | 'postgres'): string[] {
  const table = [
    `CREATE TABLE step_item_counts (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      parent_step TEXT NOT NULL,
      status TEXT NOT NULL,
      n INTEGER NOT NULL,
      PRIMARY KEY (run_id, parent_step, status)
    )`,
    `INSERT INTO step_item_counts (run_id, parent_step, status, n)
      SELECT run_id, parent_step, status, COUNT(*) FROM steps WHERE parent_step IS NOT NULL GROUP BY run_id, parent_step, status`,
    `CREATE INDEX steps_pending_items ON steps (run_id, parent_step, item_index) WHERE status = 'pending' AND parent_step IS NOT NULL`,
    `CREATE INDEX steps_top_level ON steps (run_id, step_id) WHERE parent_step IS NULL`,
  ];
  const add = (
    row: 'NEW' | 'OLD',
  ) => `INSERT INTO step_item_counts (run_id, parent_step, status, n) VALUES (${row}.run_id, ${row}.parent_step, ${row}.status, 1)
        ON CONFLICT (run_id, parent_step, status) DO UPDATE SET n = step_item_counts.n + 1`;
  const remove = `UPDATE step_item_counts SET n = n - 1 WHERE run_id = OLD.run_id AND parent_step = OLD.parent_step AND status = OLD.status`;
  if (dialect === 'sqlite') {
    return [
      ...table,
      `CREATE TRIGGER step_items_inserted AFTER INSERT ON steps WHEN NEW.parent_step IS NOT NULL
      BEGIN
        ${add('NEW')};
      END`,
      `CREATE TRIGGER step_items_changed AFTER UPDATE OF status ON steps WHEN NEW.parent_step IS NOT NULL AND OLD.status IS NOT NEW.status
      BEGIN
        ${remove};
        ${add('NEW')};
      END`,
      `CREATE TRIGGER step_items_deleted AFTER DELETE ON steps WHEN OLD.parent_step IS NOT NULL
      BEGIN
        ${remove};
      END`,
    ];
  }
  return [
    ...table,
    `CREATE OR REPLACE FUNCTION agentry_count_step_items() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP <> 'INSERT' THEN
        ${remove};
      END IF;
      IF TG_OP <> 'DELETE' THEN
        ${add('NEW')};
      END IF;
      RETURN NULL;
    END
    $$`,
    `CREATE TRIGGER step_items_inserted AFTER INSERT ON steps FOR EACH ROW WHEN (NEW.parent_step IS NOT NULL)
      EXECUTE FUNCTION agentry_count_step_items()`,
    `CREATE TRIGGER step_items_changed AFTER UPDATE OF status ON steps FOR EACH ROW
      WHEN (NEW.parent_step IS NOT NULL AND OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION agentry_count_step_items()`,
    `CREATE TRIGGER step_items_deleted AFTER DELETE ON steps FOR EACH ROW WHEN (OLD.parent_step IS NOT NULL)
      EXECUTE FUNCTION agentry_count_step_items()`,
  ];
}

/**
 * Due steps by kind of wait (`sql/queue.ts` `dueSteps`): queued steps in priority order (nearly
 * all due at once), and waiting steps by due time (parked on a timer or a person, nearly all in
 * the future or without one). One index over both made SQLite walk every parked step before the
 * first due one: 100,000 runs waiting on people or timers cost each claim a scan of them.
 */
const DUE_BY_WAIT = [
  `CREATE INDEX steps_queued_due ON steps (priority DESC, available_at) WHERE status = 'queued'`,
  `CREATE INDEX steps_waiting_due ON steps (available_at) WHERE status = 'waiting'`,
  `DROP INDEX steps_due`,
];

/**
 * `runs_by_owner` becomes `runs_by_principal`, without the runs started by no principal
 * (schedules, sub-runs, the CLI on its own store, an embedding application): listing a
 * principal's own runs filters on `created_by = ?`, which implies the predicate. Every status change of a run rewrites its row
 * (status is indexed), and each rewrite enters the row in every index whose predicate it meets:
 * two entries fewer per such run's step (docs/performance.md).
 */
const RUNS_BY_PRINCIPAL = [
  `CREATE INDEX runs_by_principal ON runs (tenant_id, created_by, created_at DESC, id DESC) WHERE created_by IS NOT NULL`,
  `DROP INDEX runs_by_owner`,
];

/**
 * The fleet's tool switches (`sql/tool-switches.ts`): a disabled tool server (`tool = ''`) or one
 * disabled tool, read by every process that calls tools.
 */
function toolSwitches(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE tool_switches (
      server TEXT NOT NULL,
      tool TEXT NOT NULL DEFAULT '',
      reason TEXT NOT NULL,
      disabled_at ${ts} NOT NULL,
      disabled_by TEXT NOT NULL,
      PRIMARY KEY (server, tool)
    )`,
  ];
}

/**
 * Environment policies set over the API (`PUT /v1/policies/{env}`, `sql/policies.ts`): one row
 * per environment whose policy replaces the one `agentry.yaml` declares, read by every API
 * process before it starts a run.
 */
function environmentPolicies(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE environment_policies (
      environment TEXT PRIMARY KEY,
      policy TEXT NOT NULL,
      updated_at ${ts} NOT NULL,
      updated_by TEXT NOT NULL
    )`,
  ];
}

/**
 * Of each LLM call's tokens, the input read from the provider's prompt cache (priced
 * `cached_input_per_mtok`) and the output spent reasoning. Rows written before it count 0.
 */
const CALL_TOKEN_DETAILS = [
  `ALTER TABLE llm_calls ADD COLUMN cached_tokens INTEGER NOT NULL DEFAULT 0`,
  `ALTER TABLE llm_calls ADD COLUMN reasoning_tokens INTEGER NOT NULL DEFAULT 0`,
];

/**
 * Per-tenant run counts for the run quotas (`sql/limits.ts`), kept by triggers on `runs`: runs
 * not yet ended (`tenant_run_counts`) and runs created per minute (`tenant_run_starts`), so that a
 * start reads a handful of counter rows instead of counting the tenant's runs (with 100,000 runs
 * waiting, that count was most of a start's cost). On PostgreSQL each connection adds to its own
 * shard of the tenant's counters (the backend pid modulo 8): the run endings of a busy tenant do not
 * queue on one row's lock; a check sums the shards. PostgreSQL counts inserted and deleted runs
 * once per statement, so that a restore's or a bulk insert's transaction does not update one
 * counter row once per run (and, from here on, map items inserted: once per statement). The
 * migration counts the runs already there.
 */
function tenantRunCounts(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const active = (row: 'NEW' | 'OLD') => `${row}.status IN ('queued', 'running', 'waiting')`;
  const shard = dialect === 'sqlite' ? '0' : 'pg_backend_pid() % 8';
  const addActive = (
    row: 'NEW' | 'OLD',
    delta: 1 | -1,
  ) => `INSERT INTO tenant_run_counts (tenant_id, shard, active) VALUES (${row}.tenant_id, ${shard}, ${delta})
        ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + ${delta}`;
  const addStart = (
    row: 'NEW' | 'OLD',
    delta: 1 | -1,
  ) => `INSERT INTO tenant_run_starts (tenant_id, minute, shard, n) VALUES (${row}.tenant_id, ${row}.created_at / 60000, ${shard}, ${delta})
        ON CONFLICT (tenant_id, minute, shard) DO UPDATE SET n = tenant_run_starts.n + ${delta}`;
  const tables = [
    `CREATE TABLE tenant_run_counts (
      tenant_id TEXT NOT NULL,
      shard INTEGER NOT NULL,
      active ${ts} NOT NULL,
      PRIMARY KEY (tenant_id, shard)
    )`,
    `CREATE TABLE tenant_run_starts (
      tenant_id TEXT NOT NULL,
      minute ${ts} NOT NULL,
      shard INTEGER NOT NULL,
      n ${ts} NOT NULL,
      PRIMARY KEY (tenant_id, minute, shard)
    )`,
    `INSERT INTO tenant_run_counts (tenant_id, shard, active)
      SELECT tenant_id, 0, COUNT(*) FROM runs WHERE status IN ('queued', 'running', 'waiting') GROUP BY tenant_id`,
    `INSERT INTO tenant_run_starts (tenant_id, minute, shard, n)
      SELECT tenant_id, created_at / 60000, 0, COUNT(*) FROM runs GROUP BY tenant_id, created_at / 60000`,
  ];
  if (dialect === 'sqlite') {
    return [
      ...tables,
      `CREATE TRIGGER tenant_runs_inserted AFTER INSERT ON runs
      BEGIN
        ${addStart('NEW', 1)};
        INSERT INTO tenant_run_counts (tenant_id, shard, active) SELECT NEW.tenant_id, 0, 1 WHERE ${active('NEW')}
          ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + 1;
      END`,
      `CREATE TRIGGER tenant_runs_ended AFTER UPDATE OF status ON runs WHEN ${active('OLD')} AND NOT ${active('NEW')}
      BEGIN
        ${addActive('OLD', -1)};
      END`,
      `CREATE TRIGGER tenant_runs_resumed AFTER UPDATE OF status ON runs WHEN NOT ${active('OLD')} AND ${active('NEW')}
      BEGIN
        ${addActive('NEW', 1)};
      END`,
      `CREATE TRIGGER tenant_runs_deleted AFTER DELETE ON runs
      BEGIN
        ${addStart('OLD', -1)};
        INSERT INTO tenant_run_counts (tenant_id, shard, active) SELECT OLD.tenant_id, 0, -1 WHERE ${active('OLD')}
          ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active - 1;
      END`,
    ];
  }
  // Runs inserted or deleted are counted per statement (transition tables): a restore or a bulk
  // insert adds to each counter row once per statement, where a row trigger would update the same
  // row once per run in one transaction, each update walking the chain of its earlier versions.
  const counted = (table: string, sign: '' | '-') => [
    `INSERT INTO tenant_run_starts (tenant_id, minute, shard, n)
        SELECT tenant_id, created_at / 60000, ${shard}, ${sign}COUNT(*) FROM ${table} GROUP BY tenant_id, created_at / 60000
        ON CONFLICT (tenant_id, minute, shard) DO UPDATE SET n = tenant_run_starts.n + EXCLUDED.n`,
    `INSERT INTO tenant_run_counts (tenant_id, shard, active)
        SELECT tenant_id, ${shard}, ${sign}COUNT(*) FROM ${table} WHERE status IN ('queued', 'running', 'waiting') GROUP BY tenant_id
        ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + EXCLUDED.active`,
  ];
  const statementFunction = (name: string, table: string, sign: '' | '-') => `CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${counted(table, sign).join(';\n      ')};
      RETURN NULL;
    END
    $$`;
  return [
    ...tables,
    statementFunction('agentry_count_inserted_runs', 'inserted_runs', ''),
    statementFunction('agentry_count_deleted_runs', 'deleted_runs', '-'),
    `CREATE OR REPLACE FUNCTION agentry_count_changed_run() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF ${active('OLD')} THEN
        ${addActive('OLD', -1)};
      ELSE
        ${addActive('NEW', 1)};
      END IF;
      RETURN NULL;
    END
    $$`,
    `CREATE TRIGGER tenant_runs_inserted AFTER INSERT ON runs REFERENCING NEW TABLE AS inserted_runs
      FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_inserted_runs()`,
    `CREATE TRIGGER tenant_runs_changed AFTER UPDATE OF status ON runs FOR EACH ROW
      WHEN ((${active('OLD')}) IS DISTINCT FROM (${active('NEW')})) EXECUTE FUNCTION agentry_count_changed_run()`,
    `CREATE TRIGGER tenant_runs_deleted AFTER DELETE ON runs REFERENCING OLD TABLE AS deleted_runs
      FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_deleted_runs()`,
    // The same for a map's items (migration 19): its 10,000 items inserted in one transaction
    // updated their `pending` count row 10,000 times, 2.4 s in all; per statement it is 50 times.
    `DROP TRIGGER step_items_inserted ON steps`,
    `CREATE OR REPLACE FUNCTION agentry_count_inserted_items() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      INSERT INTO step_item_counts (run_id, parent_step, status, n)
        SELECT run_id, parent_step, status, COUNT(*) FROM inserted_steps WHERE parent_step IS NOT NULL GROUP BY run_id, parent_step, status
        ON CONFLICT (run_id, parent_step, status) DO UPDATE SET n = step_item_counts.n + EXCLUDED.n;
      RETURN NULL;
    END
    $$`,
    `CREATE TRIGGER step_items_inserted AFTER INSERT ON steps REFERENCING NEW TABLE AS inserted_steps
      FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_inserted_items()`,
  ];
}

/**
 * The per-call view of the ledger (`GET /v1/usage/calls`, newest first, keyset-paged per tenant)
 * and whether a call was answered from the gateway's response cache (1: no upstream call, cost 0).
 */
const CALL_LIST = [
  `ALTER TABLE llm_calls ADD COLUMN cache_hit INTEGER NOT NULL DEFAULT 0`,
  `CREATE INDEX llm_calls_by_tenant_at ON llm_calls (tenant_id, at DESC, id DESC)`,
];

/**
 * The ledger's spend sums by period (`sql/budgets.ts`, `sql/usage.ts`) read a tenant's records by
 * time (`llm_calls_by_tenant_at`) and a workflow's by `llm_calls_by_workflow_at`; the two indexes
 * by day they replace overlapped. One index entry fewer to write per call record.
 */
const LEDGER_PERIODS_BY_TIME = [
  `CREATE INDEX llm_calls_by_workflow_at ON llm_calls (tenant_id, workflow, at)`,
  `DROP INDEX llm_calls_by_workflow_day`,
  `DROP INDEX llm_calls_by_tenant_day`,
];

/**
 * Plugins' key/value storage (`sql/plugins.ts`): one value (JSON text) per plugin, tenant and
 * key, so a plugin's `ctx.kv` is prefixed by the caller's tenant without the plugin's help.
 */
function pluginKv(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE plugin_kv (
      plugin TEXT NOT NULL,
      tenant_id TEXT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      updated_at ${ts} NOT NULL,
      PRIMARY KEY (plugin, tenant_id, key)
    )`,
  ];
}

/** The fleet's plugin switches (`sql/plugins.ts`): a disabled plugin, read by every process that runs plugins. */
function pluginSwitches(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE plugin_switches (
      plugin TEXT PRIMARY KEY,
      reason TEXT NOT NULL,
      disabled_at ${ts} NOT NULL,
      disabled_by TEXT NOT NULL
    )`,
  ];
}

/** The gateway's exact-match response cache (`sql/response-cache.ts`): per tenant, until `expires_at`. */
function responseCache(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE llm_cache (
      tenant_id TEXT NOT NULL,
      key TEXT NOT NULL,
      response ${JSON_TEXT} NOT NULL,
      created_at ${ts} NOT NULL,
      expires_at ${ts} NOT NULL,
      PRIMARY KEY (tenant_id, key)
    )`,
    `CREATE INDEX llm_cache_by_expiry ON llm_cache (expires_at)`,
  ];
}

/**
 * What a run was started with besides its input (`POST /v1/runs`, docs/api.md#runs): its labels
 * (`metadata`, JSON of string → string, filtered by `GET /v1/runs?label=k:v`), the overrides of
 * the workflow's overridable settings (JSON; already applied to the run's `spec`), and whether
 * its spec was given inline (`adhoc` = 1) instead of being a workflow of the project.
 */
const RUN_START_OPTIONS = [
  `ALTER TABLE runs ADD COLUMN metadata TEXT`,
  `ALTER TABLE runs ADD COLUMN overrides TEXT`,
  `ALTER TABLE runs ADD COLUMN adhoc INTEGER NOT NULL DEFAULT 0`,
];

/**
 * Conversation memory of agents (`sql/memory.ts`): per tenant, agent and thread, the messages in
 * order (`seq`), kept to the agent's `memory.max_messages` newest.
 */
function agentMemory(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  return [
    `CREATE TABLE agent_memory (
      tenant_id TEXT NOT NULL,
      agent TEXT NOT NULL,
      thread TEXT NOT NULL,
      seq ${ts} NOT NULL,
      role TEXT NOT NULL,
      content ${JSON_TEXT} NOT NULL,
      created_at ${ts} NOT NULL,
      PRIMARY KEY (tenant_id, agent, thread, seq)
    )`,
  ];
}

/**
 * Map items counted per statement on PostgreSQL, for status changes and deletes too (migration 19
 * counted each row; 24 moved inserts to statements). Cancelling a 20,000-item map is one UPDATE,
 * and the row trigger moved the same two count rows 20,000 times in its transaction, each move
 * walking the row's earlier versions: 6.2 s in psql, 0.42 s per statement. A statement trigger
 * cannot name the `status` column (transition tables forbid column lists), so it fires on every
 * UPDATE of `steps` and returns at once when no map item changed (a few microseconds in psql).
 * SQLite updates rows in place, so its row triggers stay.
 */
const itemCountsPerStatement = (): string[] => {
  const changed = (side: 'o' | 'n', delta: string) => `SELECT ${side}.run_id, ${side}.parent_step, ${side}.status, ${delta} AS delta
          FROM old_steps o JOIN new_steps n ON n.run_id = o.run_id AND n.step_id = o.step_id
          WHERE o.parent_step IS NOT NULL AND o.status IS DISTINCT FROM n.status`;
  return [
    `CREATE OR REPLACE FUNCTION agentry_count_changed_items() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT EXISTS (SELECT 1 FROM new_steps WHERE parent_step IS NOT NULL) THEN
        RETURN NULL;
      END IF;
      INSERT INTO step_item_counts (run_id, parent_step, status, n)
        SELECT run_id, parent_step, status, SUM(delta) FROM (
          ${changed('o', '-1')}
          UNION ALL
          ${changed('n', '1')}
        ) AS moved GROUP BY run_id, parent_step, status
        ON CONFLICT (run_id, parent_step, status) DO UPDATE SET n = step_item_counts.n + EXCLUDED.n;
      RETURN NULL;
    END
    $$`,
    `CREATE OR REPLACE FUNCTION agentry_count_deleted_items() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      UPDATE step_item_counts c SET n = c.n - d.n
        FROM (SELECT run_id, parent_step, status, COUNT(*) AS n FROM deleted_steps WHERE parent_step IS NOT NULL
              GROUP BY run_id, parent_step, status) AS d
        WHERE c.run_id = d.run_id AND c.parent_step = d.parent_step AND c.status = d.status;
      RETURN NULL;
    END
    $$`,
    `DROP TRIGGER step_items_changed ON steps`,
    `DROP TRIGGER step_items_deleted ON steps`,
    `DROP FUNCTION agentry_count_step_items()`,
    `CREATE TRIGGER step_items_changed AFTER UPDATE ON steps REFERENCING OLD TABLE AS old_steps NEW TABLE AS new_steps
      FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_changed_items()`,
    `CREATE TRIGGER step_items_deleted AFTER DELETE ON steps REFERENCING OLD TABLE AS deleted_steps
      FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_deleted_items()`,
  ];
};

/**
 * The index of the label filter (`GET /v1/runs?label=k:v`, `sql/runs.ts`): one row per label of
 * a run's `metadata`, filled by a trigger on `runs` in the transaction that inserts the run (a
 * restore's and a recovery's runs too) and deleted with the run (its foreign key cascades:
 * retention, restores). A filtered listing walks `run_labels_by_label` newest first instead of
 * reading every run of the tenant and its JSON. PostgreSQL fills it once per statement (a
 * transition table), as migration 24 counts runs. The migration indexes the runs already there.
 */
function runLabels(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const table = [
    `CREATE TABLE run_labels (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      tenant_id TEXT NOT NULL,
      key TEXT NOT NULL,
      value TEXT NOT NULL,
      created_at ${ts} NOT NULL,
      PRIMARY KEY (run_id, key)
    )`,
    `CREATE INDEX run_labels_by_label ON run_labels (key, value, tenant_id, created_at DESC, run_id DESC)`,
  ];
  // The labels of the runs in `source` (aliased r): the string values of their metadata object.
  const labelsOf = (source: string) =>
    dialect === 'sqlite'
      ? `INSERT INTO run_labels (run_id, tenant_id, key, value, created_at)
          SELECT r.id, r.tenant_id, l.key, l.value, r.created_at FROM ${source} r, json_each(r.metadata) l
          WHERE r.metadata IS NOT NULL AND json_type(r.metadata) = 'object' AND l.type = 'text'`
      : `INSERT INTO run_labels (run_id, tenant_id, key, value, created_at)
          SELECT r.id, r.tenant_id, l.key, l.value #>> '{}', r.created_at
          FROM (SELECT id, tenant_id, created_at, metadata::jsonb AS metadata FROM ${source}
                WHERE metadata IS NOT NULL AND jsonb_typeof(metadata::jsonb) = 'object') r
          CROSS JOIN LATERAL jsonb_each(r.metadata) l
          WHERE jsonb_typeof(l.value) = 'string'`;
  if (dialect === 'sqlite') {
    return [
      ...table,
      labelsOf('runs'),
      `CREATE TRIGGER run_labels_inserted AFTER INSERT ON runs WHEN NEW.metadata IS NOT NULL
      BEGIN
        INSERT INTO run_labels (run_id, tenant_id, key, value, created_at)
          SELECT NEW.id, NEW.tenant_id, l.key, l.value, NEW.created_at FROM json_each(NEW.metadata) l
          WHERE json_type(NEW.metadata) = 'object' AND l.type = 'text';
      END`,
    ];
  }
  return [
    ...table,
    labelsOf('runs'),
    `CREATE OR REPLACE FUNCTION agentry_label_inserted_runs() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${labelsOf('labelled_runs')};
      RETURN NULL;
    END
    $$`,
    `CREATE TRIGGER run_labels_inserted AFTER INSERT ON runs REFERENCING NEW TABLE AS labelled_runs
      FOR EACH STATEMENT EXECUTE FUNCTION agentry_label_inserted_runs()`,
  ];
}

/**
 * Files the steps of a run wrote (`app/artifacts.ts`, docs/artifacts.md): one row per run and
 * name, with its size, sha256, content type and the step that wrote it. PostgreSQL keeps the
 * bytes in `content`; SQLite keeps them in files beside the database (`artifacts/<tenant>/<run>/`)
 * and `content` stays NULL. Deleted with their run.
 */
function runArtifacts(dialect: 'sqlite' | 'postgres'): string[] {
  const ts = dialect === 'sqlite' ? 'INTEGER' : 'BIGINT';
  const bytes = dialect === 'sqlite' ? 'BLOB' : 'BYTEA';
  return [
    `CREATE TABLE run_artifacts (
      run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      name TEXT NOT NULL,
      tenant_id TEXT NOT NULL,
      step_id TEXT NOT NULL,
      size ${ts} NOT NULL,
      sha256 TEXT NOT NULL,
      content_type TEXT NOT NULL,
      created_at ${ts} NOT NULL,
      content ${bytes},
      PRIMARY KEY (run_id, name)
    )`,
  ];
}

/**
 * The gateway's upstream limits (`limits:` of a provider or target in gateway.yaml), shared by
 * every process on the database: one row per lane, `tat` when what it handed out has drained
 * (`sql/upstream-lanes.ts`). A lane per configured limit, so the table stays small.
 */
function upstreamLanes(dialect: 'sqlite' | 'postgres'): string[] {
  const real = dialect === 'sqlite' ? 'REAL' : 'DOUBLE PRECISION';
  return [`CREATE TABLE upstream_lanes (lane TEXT PRIMARY KEY, tat ${real} NOT NULL)`];
}

/** From this version on, each migration applied is itself an audit entry (in its own transaction). */
export const AUDIT_LOG_VERSION = 7;

/** From this version on, `schema_migrations` records how long each migration took (`duration_ms`). */
export const DURATION_VERSION = 16;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'runs, steps, attempts, events, workers', sqlite: coreTables('sqlite'), postgres: coreTables('postgres') },
  { version: 2, name: 'idempotency keys of run starts', sqlite: idempotencyKeys('sqlite'), postgres: idempotencyKeys('postgres') },
  { version: 3, name: 'index of the next due step', sqlite: [NEXT_DUE_INDEX], postgres: [NEXT_DUE_INDEX] },
  { version: 4, name: 'LLM call ledger and step journal', sqlite: usageAndJournal('sqlite'), postgres: usageAndJournal('postgres') },
  { version: 5, name: 'human tasks, signals, map items, sub-runs, schedules, concurrency keys', sqlite: flow('sqlite'), postgres: flow('postgres') },
  { version: 6, name: 'who started each run', sqlite: RUN_OWNER, postgres: RUN_OWNER },
  { version: AUDIT_LOG_VERSION, name: 'audit log', sqlite: auditLog('sqlite'), postgres: auditLog('postgres') },
  { version: 8, name: 'idempotency keys per tenant and principal', ...IDEMPOTENCY_PER_PRINCIPAL },
  { version: 9, name: 'managed API keys', sqlite: apiKeys('sqlite'), postgres: apiKeys('postgres') },
  { version: 10, name: 'rate-limit token buckets', sqlite: rateBuckets('sqlite'), postgres: rateBuckets('postgres') },
  { version: 11, name: 'LLM budget counters and reservations', sqlite: budgetReservations('sqlite'), postgres: budgetReservations('postgres') },
  { version: 12, name: 'audit entries by run', sqlite: auditRunIds('sqlite'), postgres: auditRunIds('postgres') },
  { version: 13, name: 'trace context of each run', sqlite: RUN_TRACE_CONTEXT, postgres: RUN_TRACE_CONTEXT },
  { version: 14, name: 'indexes of active runs and open tasks', sqlite: METRICS_INDEXES, postgres: METRICS_INDEXES },
  { version: 15, name: 'events in time order', sqlite: EVENTS_BY_TIME, postgres: EVENTS_BY_TIME },
  { version: DURATION_VERSION, name: 'migration durations, worker drain, maintenance mode', sqlite: operations('sqlite'), postgres: operations('postgres') },
  { version: 17, name: 'index of ended runs, for retention', sqlite: RUNS_BY_END, postgres: RUNS_BY_END },
  { version: 18, name: 'quiesce mode of maintenance', sqlite: MAINTENANCE_QUIESCE, postgres: MAINTENANCE_QUIESCE },
  { version: 19, name: 'map items counted by status', sqlite: itemCounts('sqlite'), postgres: itemCounts('postgres') },
  { version: 20, name: 'due steps indexed by kind of wait', sqlite: DUE_BY_WAIT, postgres: DUE_BY_WAIT },
  { version: 21, name: 'runs by owner: only runs a principal started', sqlite: RUNS_BY_PRINCIPAL, postgres: RUNS_BY_PRINCIPAL },
  { version: 22, name: 'cached and reasoning tokens of LLM calls', sqlite: CALL_TOKEN_DETAILS, postgres: CALL_TOKEN_DETAILS },
  { version: 23, name: 'tool switches of the fleet', sqlite: toolSwitches('sqlite'), postgres: toolSwitches('postgres') },
  {
    version: 24,
    name: 'run counts per tenant, for the run quotas; map items counted per statement',
    sqlite: tenantRunCounts('sqlite'),
    postgres: tenantRunCounts('postgres'),
  },
  { version: 25, name: 'run metadata, overrides and ad-hoc specs', sqlite: RUN_START_OPTIONS, postgres: RUN_START_OPTIONS },
  { version: 26, name: 'environment policies set over the API', sqlite: environmentPolicies('sqlite'), postgres: environmentPolicies('postgres') },
  { version: 27, name: 'LLM calls by time and cache hits', sqlite: CALL_LIST, postgres: CALL_LIST },
  { version: 28, name: 'response cache of the gateway', sqlite: responseCache('sqlite'), postgres: responseCache('postgres') },
  { version: 29, name: 'conversation memory of agents', sqlite: agentMemory('sqlite'), postgres: agentMemory('postgres') },
  { version: 30, name: 'key/value storage of plugins, per tenant', sqlite: pluginKv('sqlite'), postgres: pluginKv('postgres') },
  { version: 31, name: 'plugin switches of the fleet', sqlite: pluginSwitches('sqlite'), postgres: pluginSwitches('postgres') },
  { version: 32, name: 'map items counted per statement when they change or go', sqlite: [], postgres: itemCountsPerStatement() },
  { version: 33, name: 'index of run labels', sqlite: runLabels('sqlite'), postgres: runLabels('postgres') },
  { version: 34, name: 'artifacts of runs', sqlite: runArtifacts('sqlite'), postgres: runArtifacts('postgres') },
  { version: 35, name: 'upstream limits of the gateway, shared by the fleet', sqlite: upstreamLanes('sqlite'), postgres: upstreamLanes('postgres') },
  { version: 36, name: "the ledger's periods read by time", sqlite: LEDGER_PERIODS_BY_TIME, postgres: LEDGER_PERIODS_BY_TIME },
];

export const LATEST_SCHEMA_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);
