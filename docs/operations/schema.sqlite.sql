-- The schema Agentry's migrations (src/store/migrations.ts, version 36) produce on SQLite.
-- Generated from a freshly migrated database by `npm run schema:dump`; do not edit by hand.
-- test/integration/store.schema.test.ts fails when this file is out of date.

CREATE TABLE agent_memory (
  tenant_id TEXT NOT NULL,
  agent TEXT NOT NULL,
  thread TEXT NOT NULL,
  seq INTEGER NOT NULL,
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, agent, thread, seq)
);

CREATE TABLE api_key_revision (
  id INTEGER,
  revision INTEGER NOT NULL,
  PRIMARY KEY (id)
);

CREATE TABLE api_keys (
  id TEXT,
  tenant_id TEXT NOT NULL,
  name TEXT NOT NULL,
  grants TEXT NOT NULL,
  secret_hash TEXT NOT NULL,
  prefix TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  created_by TEXT NOT NULL,
  expires_at INTEGER,
  revoked_at INTEGER,
  revoked_by TEXT,
  last_used_at INTEGER,
  rotated_from TEXT,
  replaced_by TEXT,
  grace_until INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (id)
);

CREATE TABLE attempts (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  status TEXT NOT NULL,
  worker_id TEXT,
  input TEXT,
  output TEXT,
  error TEXT,
  started_at INTEGER NOT NULL,
  finished_at INTEGER,
  PRIMARY KEY (run_id, step_id, attempt),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE audit_head (
  id INTEGER,
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL,
  pruned_seq INTEGER NOT NULL,
  pruned_hash TEXT NOT NULL,
  PRIMARY KEY (id)
);

CREATE TABLE audit_log (
  seq INTEGER,
  id TEXT NOT NULL,
  at INTEGER NOT NULL,
  tenant_id TEXT,
  principal TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT,
  request_id TEXT,
  outcome TEXT NOT NULL,
  client_ip TEXT,
  details TEXT,
  prev_hash TEXT NOT NULL,
  hash TEXT NOT NULL,
  run_id TEXT,
  PRIMARY KEY (seq),
  UNIQUE (id)
);

CREATE TABLE budget_counters (
  scope_key TEXT,
  spent_tokens INTEGER NOT NULL,
  spent_usd REAL NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (scope_key)
);

CREATE TABLE budget_reservations (
  id TEXT NOT NULL,
  scope_key TEXT NOT NULL,
  tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (id, scope_key)
);

CREATE TABLE environment_policies (
  environment TEXT,
  policy TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  updated_by TEXT NOT NULL,
  PRIMARY KEY (environment)
);

CREATE TABLE events (
  run_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  type TEXT NOT NULL,
  step_id TEXT,
  data TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (run_id, seq),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE idempotency_keys (
  tenant_id TEXT NOT NULL,
  principal TEXT NOT NULL,
  key TEXT NOT NULL,
  request_hash TEXT NOT NULL,
  run_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, principal, key),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE llm_cache (
  tenant_id TEXT NOT NULL,
  key TEXT NOT NULL,
  response TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, key)
);

CREATE TABLE llm_calls (
  id TEXT,
  tenant_id TEXT NOT NULL,
  run_id TEXT,
  step_id TEXT,
  workflow TEXT,
  model_group TEXT NOT NULL,
  provider TEXT NOT NULL,
  model TEXT NOT NULL,
  input_tokens INTEGER NOT NULL,
  output_tokens INTEGER NOT NULL,
  cost_usd REAL NOT NULL,
  latency_ms INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  error_code TEXT,
  day TEXT NOT NULL,
  at INTEGER NOT NULL,
  cached_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  cache_hit INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
);

CREATE TABLE maintenance (
  id INTEGER,
  reason TEXT,
  started_at INTEGER NOT NULL,
  started_by TEXT NOT NULL,
  quiesce INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
);

CREATE TABLE plugin_kv (
  plugin TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (plugin, tenant_id, key)
);

CREATE TABLE plugin_switches (
  plugin TEXT,
  reason TEXT NOT NULL,
  disabled_at INTEGER NOT NULL,
  disabled_by TEXT NOT NULL,
  PRIMARY KEY (plugin)
);

CREATE TABLE rate_buckets (
  bucket TEXT,
  tokens REAL NOT NULL,
  updated_at INTEGER NOT NULL,
  full_at INTEGER NOT NULL,
  taken INTEGER NOT NULL,
  PRIMARY KEY (bucket)
);

CREATE TABLE run_artifacts (
  run_id TEXT NOT NULL,
  name TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  size INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  content_type TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  content BLOB,
  PRIMARY KEY (run_id, name),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE run_labels (
  run_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, key),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE runs (
  id TEXT,
  tenant_id TEXT NOT NULL,
  workflow TEXT NOT NULL,
  spec_hash TEXT NOT NULL,
  spec TEXT NOT NULL,
  status TEXT NOT NULL,
  input TEXT NOT NULL,
  output TEXT,
  error TEXT,
  priority INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  deadline_at INTEGER,
  updated_at INTEGER NOT NULL,
  event_seq INTEGER NOT NULL DEFAULT 0,
  parent_run_id TEXT,
  parent_step_id TEXT,
  retry_of TEXT,
  concurrency_key TEXT,
  created_by TEXT,
  trace_context TEXT,
  metadata TEXT,
  overrides TEXT,
  adhoc INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
);

CREATE TABLE schedules (
  workflow TEXT,
  tenant_id TEXT NOT NULL,
  cron TEXT NOT NULL,
  timezone TEXT NOT NULL,
  input TEXT NOT NULL,
  overlap TEXT NOT NULL,
  catch_up TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  next_at INTEGER,
  last_tick_at INTEGER,
  last_run_id TEXT,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (workflow)
);

CREATE TABLE schema_migrations (
  version INTEGER,
  name TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  duration_ms INTEGER,
  PRIMARY KEY (version)
);

CREATE TABLE signals (
  run_id TEXT NOT NULL,
  name TEXT NOT NULL,
  payload TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, name),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE step_item_counts (
  run_id TEXT NOT NULL,
  parent_step TEXT NOT NULL,
  status TEXT NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (run_id, parent_step, status),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE step_journal (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  key TEXT NOT NULL,
  data TEXT NOT NULL,
  at INTEGER NOT NULL,
  PRIMARY KEY (run_id, step_id, key),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE steps (
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  priority INTEGER NOT NULL DEFAULT 0,
  available_at INTEGER,
  lease_owner TEXT,
  lease_expires_at INTEGER,
  input TEXT,
  output TEXT,
  error TEXT,
  state TEXT,
  meta TEXT,
  started_at INTEGER,
  finished_at INTEGER,
  updated_at INTEGER NOT NULL,
  parent_step TEXT,
  item_index INTEGER,
  item TEXT,
  PRIMARY KEY (run_id, step_id),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE tasks (
  id TEXT,
  tenant_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  step_id TEXT NOT NULL,
  workflow TEXT NOT NULL,
  kind TEXT NOT NULL,
  status TEXT NOT NULL,
  title TEXT NOT NULL,
  instructions TEXT,
  form_schema TEXT,
  role TEXT,
  assignees TEXT,
  context TEXT,
  due_at INTEGER,
  escalations INTEGER NOT NULL DEFAULT 0,
  decision TEXT,
  response TEXT,
  comment TEXT,
  decided_by TEXT,
  decided_at INTEGER,
  lock_owner TEXT,
  lock_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (id),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE tenant_run_counts (
  tenant_id TEXT NOT NULL,
  shard INTEGER NOT NULL,
  active INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, shard)
);

CREATE TABLE tenant_run_starts (
  tenant_id TEXT NOT NULL,
  minute INTEGER NOT NULL,
  shard INTEGER NOT NULL,
  n INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, minute, shard)
);

CREATE TABLE tool_switches (
  server TEXT NOT NULL,
  tool TEXT NOT NULL DEFAULT '',
  reason TEXT NOT NULL,
  disabled_at INTEGER NOT NULL,
  disabled_by TEXT NOT NULL,
  PRIMARY KEY (server, tool)
);

CREATE TABLE upstream_lanes (
  lane TEXT,
  tat REAL NOT NULL,
  PRIMARY KEY (lane)
);

CREATE TABLE workers (
  id TEXT,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  roles TEXT NOT NULL,
  concurrency INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  drain_requested_at INTEGER,
  PRIMARY KEY (id)
);

CREATE INDEX api_keys_by_created ON api_keys (tenant_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX api_keys_current_name ON api_keys (tenant_id, name) WHERE revoked_at IS NULL AND replaced_by IS NULL;
CREATE INDEX audit_log_by_at ON audit_log (at);
CREATE INDEX audit_log_by_run ON audit_log (run_id, seq);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, seq DESC);
CREATE INDEX budget_counters_by_updated ON budget_counters (updated_at);
CREATE INDEX budget_reservations_by_expiry ON budget_reservations (expires_at);
CREATE INDEX budget_reservations_by_scope ON budget_reservations (scope_key, expires_at);
CREATE INDEX events_by_time ON events (at, run_id, seq);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys (created_at);
CREATE INDEX llm_cache_by_expiry ON llm_cache (expires_at);
CREATE INDEX llm_calls_by_run ON llm_calls (run_id) WHERE run_id IS NOT NULL;
CREATE INDEX llm_calls_by_tenant_at ON llm_calls (tenant_id, at DESC, id DESC);
CREATE INDEX llm_calls_by_workflow_at ON llm_calls (tenant_id, workflow, at);
CREATE INDEX rate_buckets_by_full_at ON rate_buckets (full_at);
CREATE INDEX run_labels_by_label ON run_labels (key, value, tenant_id, created_at DESC, run_id DESC);
CREATE INDEX runs_active ON runs (status) WHERE status IN ('queued', 'running', 'waiting');
CREATE INDEX runs_by_concurrency ON runs (concurrency_key, status) WHERE concurrency_key IS NOT NULL;
CREATE INDEX runs_by_created ON runs (tenant_id, created_at DESC, id DESC);
CREATE INDEX runs_by_deadline ON runs (deadline_at) WHERE deadline_at IS NOT NULL AND status IN ('queued', 'running', 'waiting');
CREATE INDEX runs_by_end ON runs (status, finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX runs_by_parent ON runs (parent_run_id) WHERE parent_run_id IS NOT NULL;
CREATE INDEX runs_by_principal ON runs (tenant_id, created_by, created_at DESC, id DESC) WHERE created_by IS NOT NULL;
CREATE INDEX runs_by_status ON runs (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX runs_by_workflow ON runs (tenant_id, workflow, created_at DESC, id DESC);
CREATE INDEX steps_items ON steps (run_id, parent_step, item_index) WHERE parent_step IS NOT NULL;
CREATE INDEX steps_leases ON steps (lease_expires_at) WHERE status = 'running';
CREATE INDEX steps_next_due ON steps (available_at) WHERE status IN ('queued', 'waiting');
CREATE INDEX steps_pending_items ON steps (run_id, parent_step, item_index) WHERE status = 'pending' AND parent_step IS NOT NULL;
CREATE INDEX steps_queued_due ON steps (priority DESC, available_at) WHERE status = 'queued';
CREATE INDEX steps_top_level ON steps (run_id, step_id) WHERE parent_step IS NULL;
CREATE INDEX steps_waiting_due ON steps (available_at) WHERE status = 'waiting';
CREATE INDEX tasks_by_run ON tasks (run_id, step_id);
CREATE INDEX tasks_by_status ON tasks (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX tasks_open ON tasks (created_at) WHERE status = 'open';

CREATE TRIGGER run_labels_inserted AFTER INSERT ON runs WHEN NEW.metadata IS NOT NULL BEGIN INSERT INTO run_labels (run_id, tenant_id, key, value, created_at) SELECT NEW.id, NEW.tenant_id, l.key, l.value, NEW.created_at FROM json_each(NEW.metadata) l WHERE json_type(NEW.metadata) = 'object' AND l.type = 'text'; END;
CREATE TRIGGER step_items_changed AFTER UPDATE OF status ON steps WHEN NEW.parent_step IS NOT NULL AND OLD.status IS NOT NEW.status BEGIN UPDATE step_item_counts SET n = n - 1 WHERE run_id = OLD.run_id AND parent_step = OLD.parent_step AND status = OLD.status; INSERT INTO step_item_counts (run_id, parent_step, status, n) VALUES (NEW.run_id, NEW.parent_step, NEW.status, 1) ON CONFLICT (run_id, parent_step, status) DO UPDATE SET n = step_item_counts.n + 1; END;
CREATE TRIGGER step_items_deleted AFTER DELETE ON steps WHEN OLD.parent_step IS NOT NULL BEGIN UPDATE step_item_counts SET n = n - 1 WHERE run_id = OLD.run_id AND parent_step = OLD.parent_step AND status = OLD.status; END;
CREATE TRIGGER step_items_inserted AFTER INSERT ON steps WHEN NEW.parent_step IS NOT NULL BEGIN INSERT INTO step_item_counts (run_id, parent_step, status, n) VALUES (NEW.run_id, NEW.parent_step, NEW.status, 1) ON CONFLICT (run_id, parent_step, status) DO UPDATE SET n = step_item_counts.n + 1; END;
CREATE TRIGGER tenant_runs_deleted AFTER DELETE ON runs BEGIN INSERT INTO tenant_run_starts (tenant_id, minute, shard, n) VALUES (OLD.tenant_id, OLD.created_at / 60000, 0, -1) ON CONFLICT (tenant_id, minute, shard) DO UPDATE SET n = tenant_run_starts.n + -1; INSERT INTO tenant_run_counts (tenant_id, shard, active) SELECT OLD.tenant_id, 0, -1 WHERE OLD.status IN ('queued', 'running', 'waiting') ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active - 1; END;
CREATE TRIGGER tenant_runs_ended AFTER UPDATE OF status ON runs WHEN OLD.status IN ('queued', 'running', 'waiting') AND NOT NEW.status IN ('queued', 'running', 'waiting') BEGIN INSERT INTO tenant_run_counts (tenant_id, shard, active) VALUES (OLD.tenant_id, 0, -1) ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + -1; END;
CREATE TRIGGER tenant_runs_inserted AFTER INSERT ON runs BEGIN INSERT INTO tenant_run_starts (tenant_id, minute, shard, n) VALUES (NEW.tenant_id, NEW.created_at / 60000, 0, 1) ON CONFLICT (tenant_id, minute, shard) DO UPDATE SET n = tenant_run_starts.n + 1; INSERT INTO tenant_run_counts (tenant_id, shard, active) SELECT NEW.tenant_id, 0, 1 WHERE NEW.status IN ('queued', 'running', 'waiting') ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + 1; END;
CREATE TRIGGER tenant_runs_resumed AFTER UPDATE OF status ON runs WHEN NOT OLD.status IN ('queued', 'running', 'waiting') AND NEW.status IN ('queued', 'running', 'waiting') BEGIN INSERT INTO tenant_run_counts (tenant_id, shard, active) VALUES (NEW.tenant_id, 0, 1) ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + 1; END;
