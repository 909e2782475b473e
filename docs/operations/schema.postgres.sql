-- The schema Agentry's migrations (src/store/migrations.ts, version 36) produce on PostgreSQL.
-- Generated from a freshly migrated database by `npm run schema:dump`; do not edit by hand.
-- test/integration/store.schema.test.ts fails when this file is out of date.

CREATE TABLE agent_memory (
  tenant_id text NOT NULL,
  agent text NOT NULL,
  thread text NOT NULL,
  seq bigint NOT NULL,
  role text NOT NULL,
  content text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (tenant_id, agent, thread, seq)
);

CREATE TABLE api_key_revision (
  id integer NOT NULL,
  revision bigint NOT NULL,
  PRIMARY KEY (id),
  CHECK ((id = 1))
);

CREATE TABLE api_keys (
  id text NOT NULL,
  tenant_id text NOT NULL,
  name text NOT NULL,
  grants text NOT NULL,
  secret_hash text NOT NULL,
  prefix text NOT NULL,
  created_at bigint NOT NULL,
  created_by text NOT NULL,
  expires_at bigint,
  revoked_at bigint,
  revoked_by text,
  last_used_at bigint,
  rotated_from text,
  replaced_by text,
  grace_until bigint,
  updated_at bigint NOT NULL,
  PRIMARY KEY (id)
);

CREATE TABLE attempts (
  run_id text NOT NULL,
  step_id text NOT NULL,
  attempt integer NOT NULL,
  status text NOT NULL,
  worker_id text,
  input text,
  output text,
  error text,
  started_at bigint NOT NULL,
  finished_at bigint,
  PRIMARY KEY (run_id, step_id, attempt),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE audit_head (
  id integer NOT NULL,
  seq bigint NOT NULL,
  hash text NOT NULL,
  pruned_seq bigint NOT NULL,
  pruned_hash text NOT NULL,
  PRIMARY KEY (id),
  CHECK ((id = 1))
);

CREATE TABLE audit_log (
  seq bigint NOT NULL,
  id text NOT NULL,
  at bigint NOT NULL,
  tenant_id text,
  principal text NOT NULL,
  action text NOT NULL,
  target text,
  request_id text,
  outcome text NOT NULL,
  client_ip text,
  details text,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  run_id text,
  PRIMARY KEY (seq),
  UNIQUE (id)
);

CREATE TABLE budget_counters (
  scope_key text NOT NULL,
  spent_tokens bigint NOT NULL,
  spent_usd double precision NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (scope_key)
);

CREATE TABLE budget_reservations (
  id text NOT NULL,
  scope_key text NOT NULL,
  tokens bigint NOT NULL,
  cost_usd double precision NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (id, scope_key)
);

CREATE TABLE environment_policies (
  environment text NOT NULL,
  policy text NOT NULL,
  updated_at bigint NOT NULL,
  updated_by text NOT NULL,
  PRIMARY KEY (environment)
);

CREATE TABLE events (
  run_id text NOT NULL,
  seq integer NOT NULL,
  type text NOT NULL,
  step_id text,
  data text NOT NULL,
  at bigint NOT NULL,
  PRIMARY KEY (run_id, seq),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE idempotency_keys (
  tenant_id text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  run_id text NOT NULL,
  created_at bigint NOT NULL,
  principal text NOT NULL,
  PRIMARY KEY (tenant_id, principal, key),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE llm_cache (
  tenant_id text NOT NULL,
  key text NOT NULL,
  response text NOT NULL,
  created_at bigint NOT NULL,
  expires_at bigint NOT NULL,
  PRIMARY KEY (tenant_id, key)
);

CREATE TABLE llm_calls (
  id text NOT NULL,
  tenant_id text NOT NULL,
  run_id text,
  step_id text,
  workflow text,
  model_group text NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  input_tokens integer NOT NULL,
  output_tokens integer NOT NULL,
  cost_usd double precision NOT NULL,
  latency_ms integer NOT NULL,
  outcome text NOT NULL,
  error_code text,
  day text NOT NULL,
  at bigint NOT NULL,
  cached_tokens integer NOT NULL DEFAULT 0,
  reasoning_tokens integer NOT NULL DEFAULT 0,
  cache_hit integer NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
);

CREATE TABLE maintenance (
  id integer NOT NULL,
  reason text,
  started_at bigint NOT NULL,
  started_by text NOT NULL,
  quiesce integer NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  CHECK ((id = 1))
);

CREATE TABLE plugin_kv (
  plugin text NOT NULL,
  tenant_id text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (plugin, tenant_id, key)
);

CREATE TABLE plugin_switches (
  plugin text NOT NULL,
  reason text NOT NULL,
  disabled_at bigint NOT NULL,
  disabled_by text NOT NULL,
  PRIMARY KEY (plugin)
);

CREATE TABLE rate_buckets (
  bucket text NOT NULL,
  tokens double precision NOT NULL,
  updated_at bigint NOT NULL,
  full_at bigint NOT NULL,
  taken integer NOT NULL,
  PRIMARY KEY (bucket)
);

CREATE TABLE run_artifacts (
  run_id text NOT NULL,
  name text NOT NULL,
  tenant_id text NOT NULL,
  step_id text NOT NULL,
  size bigint NOT NULL,
  sha256 text NOT NULL,
  content_type text NOT NULL,
  created_at bigint NOT NULL,
  content bytea,
  PRIMARY KEY (run_id, name),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE run_labels (
  run_id text NOT NULL,
  tenant_id text NOT NULL,
  key text NOT NULL,
  value text NOT NULL,
  created_at bigint NOT NULL,
  PRIMARY KEY (run_id, key),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE runs (
  id text NOT NULL,
  tenant_id text NOT NULL,
  workflow text NOT NULL,
  spec_hash text NOT NULL,
  spec text NOT NULL,
  status text NOT NULL,
  input text NOT NULL,
  output text,
  error text,
  priority integer NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint,
  deadline_at bigint,
  updated_at bigint NOT NULL,
  event_seq integer NOT NULL DEFAULT 0,
  parent_run_id text,
  parent_step_id text,
  retry_of text,
  concurrency_key text,
  created_by text,
  trace_context text,
  metadata text,
  overrides text,
  adhoc integer NOT NULL DEFAULT 0,
  PRIMARY KEY (id)
);

CREATE TABLE schedules (
  workflow text NOT NULL,
  tenant_id text NOT NULL,
  cron text NOT NULL,
  timezone text NOT NULL,
  input text NOT NULL,
  overlap text NOT NULL,
  catch_up text NOT NULL,
  paused integer NOT NULL DEFAULT 0,
  next_at bigint,
  last_tick_at bigint,
  last_run_id text,
  updated_at bigint NOT NULL,
  PRIMARY KEY (workflow)
);

CREATE TABLE schema_migrations (
  version integer NOT NULL,
  name text NOT NULL,
  applied_at bigint NOT NULL,
  duration_ms bigint,
  PRIMARY KEY (version)
);

CREATE TABLE signals (
  run_id text NOT NULL,
  name text NOT NULL,
  payload text NOT NULL,
  received_at bigint NOT NULL,
  PRIMARY KEY (run_id, name),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE step_item_counts (
  run_id text NOT NULL,
  parent_step text NOT NULL,
  status text NOT NULL,
  n integer NOT NULL,
  PRIMARY KEY (run_id, parent_step, status),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE step_journal (
  run_id text NOT NULL,
  step_id text NOT NULL,
  key text NOT NULL,
  data text NOT NULL,
  at bigint NOT NULL,
  PRIMARY KEY (run_id, step_id, key),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE steps (
  run_id text NOT NULL,
  step_id text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  attempt integer NOT NULL DEFAULT 0,
  priority integer NOT NULL DEFAULT 0,
  available_at bigint,
  lease_owner text,
  lease_expires_at bigint,
  input text,
  output text,
  error text,
  state text,
  meta text,
  started_at bigint,
  finished_at bigint,
  updated_at bigint NOT NULL,
  parent_step text,
  item_index integer,
  item text,
  PRIMARY KEY (run_id, step_id),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE tasks (
  id text NOT NULL,
  tenant_id text NOT NULL,
  run_id text NOT NULL,
  step_id text NOT NULL,
  workflow text NOT NULL,
  kind text NOT NULL,
  status text NOT NULL,
  title text NOT NULL,
  instructions text,
  form_schema text,
  role text,
  assignees text,
  context text,
  due_at bigint,
  escalations integer NOT NULL DEFAULT 0,
  decision text,
  response text,
  comment text,
  decided_by text,
  decided_at bigint,
  lock_owner text,
  lock_until bigint,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  PRIMARY KEY (id),
  FOREIGN KEY (run_id) REFERENCES runs(id) ON DELETE CASCADE
);

CREATE TABLE tenant_run_counts (
  tenant_id text NOT NULL,
  shard integer NOT NULL,
  active bigint NOT NULL,
  PRIMARY KEY (tenant_id, shard)
);

CREATE TABLE tenant_run_starts (
  tenant_id text NOT NULL,
  minute bigint NOT NULL,
  shard integer NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (tenant_id, minute, shard)
);

CREATE TABLE tool_switches (
  server text NOT NULL,
  tool text NOT NULL DEFAULT ''::text,
  reason text NOT NULL,
  disabled_at bigint NOT NULL,
  disabled_by text NOT NULL,
  PRIMARY KEY (server, tool)
);

CREATE TABLE upstream_lanes (
  lane text NOT NULL,
  tat double precision NOT NULL,
  PRIMARY KEY (lane)
);

CREATE TABLE workers (
  id text NOT NULL,
  host text NOT NULL,
  pid integer NOT NULL,
  roles text NOT NULL,
  concurrency integer NOT NULL,
  started_at bigint NOT NULL,
  heartbeat_at bigint NOT NULL,
  drain_requested_at bigint,
  PRIMARY KEY (id)
);

CREATE INDEX api_keys_by_created ON api_keys USING btree (tenant_id, created_at DESC, id DESC);
CREATE UNIQUE INDEX api_keys_current_name ON api_keys USING btree (tenant_id, name) WHERE ((revoked_at IS NULL) AND (replaced_by IS NULL));
CREATE INDEX audit_log_by_at ON audit_log USING btree (at);
CREATE INDEX audit_log_by_run ON audit_log USING btree (run_id, seq);
CREATE INDEX audit_log_by_tenant ON audit_log USING btree (tenant_id, seq DESC);
CREATE INDEX budget_counters_by_updated ON budget_counters USING btree (updated_at);
CREATE INDEX budget_reservations_by_expiry ON budget_reservations USING btree (expires_at);
CREATE INDEX budget_reservations_by_scope ON budget_reservations USING btree (scope_key, expires_at);
CREATE INDEX events_by_time ON events USING btree (at, run_id, seq);
CREATE INDEX idempotency_keys_by_created ON idempotency_keys USING btree (created_at);
CREATE INDEX llm_cache_by_expiry ON llm_cache USING btree (expires_at);
CREATE INDEX llm_calls_by_run ON llm_calls USING btree (run_id) WHERE (run_id IS NOT NULL);
CREATE INDEX llm_calls_by_tenant_at ON llm_calls USING btree (tenant_id, at DESC, id DESC);
CREATE INDEX llm_calls_by_workflow_at ON llm_calls USING btree (tenant_id, workflow, at);
CREATE INDEX rate_buckets_by_full_at ON rate_buckets USING btree (full_at);
CREATE INDEX run_labels_by_label ON run_labels USING btree (key, value, tenant_id, created_at DESC, run_id DESC);
CREATE INDEX runs_active ON runs USING btree (status) WHERE (status = ANY (ARRAY['queued'::text, 'running'::text, 'waiting'::text]));
CREATE INDEX runs_by_concurrency ON runs USING btree (concurrency_key, status) WHERE (concurrency_key IS NOT NULL);
CREATE INDEX runs_by_created ON runs USING btree (tenant_id, created_at DESC, id DESC);
CREATE INDEX runs_by_deadline ON runs USING btree (deadline_at) WHERE ((deadline_at IS NOT NULL) AND (status = ANY (ARRAY['queued'::text, 'running'::text, 'waiting'::text])));
CREATE INDEX runs_by_end ON runs USING btree (status, finished_at) WHERE (finished_at IS NOT NULL);
CREATE INDEX runs_by_parent ON runs USING btree (parent_run_id) WHERE (parent_run_id IS NOT NULL);
CREATE INDEX runs_by_principal ON runs USING btree (tenant_id, created_by, created_at DESC, id DESC) WHERE (created_by IS NOT NULL);
CREATE INDEX runs_by_status ON runs USING btree (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX runs_by_workflow ON runs USING btree (tenant_id, workflow, created_at DESC, id DESC);
CREATE INDEX steps_items ON steps USING btree (run_id, parent_step, item_index) WHERE (parent_step IS NOT NULL);
CREATE INDEX steps_leases ON steps USING btree (lease_expires_at) WHERE (status = 'running'::text);
CREATE INDEX steps_next_due ON steps USING btree (available_at) WHERE (status = ANY (ARRAY['queued'::text, 'waiting'::text]));
CREATE INDEX steps_pending_items ON steps USING btree (run_id, parent_step, item_index) WHERE ((status = 'pending'::text) AND (parent_step IS NOT NULL));
CREATE INDEX steps_queued_due ON steps USING btree (priority DESC, available_at) WHERE (status = 'queued'::text);
CREATE INDEX steps_top_level ON steps USING btree (run_id, step_id) WHERE (parent_step IS NULL);
CREATE INDEX steps_waiting_due ON steps USING btree (available_at) WHERE (status = 'waiting'::text);
CREATE INDEX tasks_by_run ON tasks USING btree (run_id, step_id);
CREATE INDEX tasks_by_status ON tasks USING btree (tenant_id, status, created_at DESC, id DESC);
CREATE INDEX tasks_open ON tasks USING btree (created_at) WHERE (status = 'open'::text);

CREATE OR REPLACE FUNCTION agentry_count_changed_items() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN IF NOT EXISTS (SELECT 1 FROM new_steps WHERE parent_step IS NOT NULL) THEN RETURN NULL; END IF; INSERT INTO step_item_counts (run_id, parent_step, status, n) SELECT run_id, parent_step, status, SUM(delta) FROM ( SELECT o.run_id, o.parent_step, o.status, -1 AS delta FROM old_steps o JOIN new_steps n ON n.run_id = o.run_id AND n.step_id = o.step_id WHERE o.parent_step IS NOT NULL AND o.status IS DISTINCT FROM n.status UNION ALL SELECT n.run_id, n.parent_step, n.status, 1 AS delta FROM old_steps o JOIN new_steps n ON n.run_id = o.run_id AND n.step_id = o.step_id WHERE o.parent_step IS NOT NULL AND o.status IS DISTINCT FROM n.status ) AS moved GROUP BY run_id, parent_step, status ON CONFLICT (run_id, parent_step, status) DO UPDATE SET n = step_item_counts.n + EXCLUDED.n; RETURN NULL; END $function$;
CREATE OR REPLACE FUNCTION agentry_count_changed_run() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN IF OLD.status IN ('queued', 'running', 'waiting') THEN INSERT INTO tenant_run_counts (tenant_id, shard, active) VALUES (OLD.tenant_id, pg_backend_pid() % 8, -1) ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + -1; ELSE INSERT INTO tenant_run_counts (tenant_id, shard, active) VALUES (NEW.tenant_id, pg_backend_pid() % 8, 1) ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + 1; END IF; RETURN NULL; END $function$;
CREATE OR REPLACE FUNCTION agentry_count_deleted_items() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN UPDATE step_item_counts c SET n = c.n - d.n FROM (SELECT run_id, parent_step, status, COUNT(*) AS n FROM deleted_steps WHERE parent_step IS NOT NULL GROUP BY run_id, parent_step, status) AS d WHERE c.run_id = d.run_id AND c.parent_step = d.parent_step AND c.status = d.status; RETURN NULL; END $function$;
CREATE OR REPLACE FUNCTION agentry_count_deleted_runs() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN INSERT INTO tenant_run_starts (tenant_id, minute, shard, n) SELECT tenant_id, created_at / 60000, pg_backend_pid() % 8, -COUNT(*) FROM deleted_runs GROUP BY tenant_id, created_at / 60000 ON CONFLICT (tenant_id, minute, shard) DO UPDATE SET n = tenant_run_starts.n + EXCLUDED.n; INSERT INTO tenant_run_counts (tenant_id, shard, active) SELECT tenant_id, pg_backend_pid() % 8, -COUNT(*) FROM deleted_runs WHERE status IN ('queued', 'running', 'waiting') GROUP BY tenant_id ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + EXCLUDED.active; RETURN NULL; END $function$;
CREATE OR REPLACE FUNCTION agentry_count_inserted_items() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN INSERT INTO step_item_counts (run_id, parent_step, status, n) SELECT run_id, parent_step, status, COUNT(*) FROM inserted_steps WHERE parent_step IS NOT NULL GROUP BY run_id, parent_step, status ON CONFLICT (run_id, parent_step, status) DO UPDATE SET n = step_item_counts.n + EXCLUDED.n; RETURN NULL; END $function$;
CREATE OR REPLACE FUNCTION agentry_count_inserted_runs() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN INSERT INTO tenant_run_starts (tenant_id, minute, shard, n) SELECT tenant_id, created_at / 60000, pg_backend_pid() % 8, COUNT(*) FROM inserted_runs GROUP BY tenant_id, created_at / 60000 ON CONFLICT (tenant_id, minute, shard) DO UPDATE SET n = tenant_run_starts.n + EXCLUDED.n; INSERT INTO tenant_run_counts (tenant_id, shard, active) SELECT tenant_id, pg_backend_pid() % 8, COUNT(*) FROM inserted_runs WHERE status IN ('queued', 'running', 'waiting') GROUP BY tenant_id ON CONFLICT (tenant_id, shard) DO UPDATE SET active = tenant_run_counts.active + EXCLUDED.active; RETURN NULL; END $function$;
CREATE OR REPLACE FUNCTION agentry_label_inserted_runs() RETURNS trigger LANGUAGE plpgsql AS $function$ BEGIN INSERT INTO run_labels (run_id, tenant_id, key, value, created_at) SELECT r.id, r.tenant_id, l.key, l.value #>> '{}', r.created_at FROM (SELECT id, tenant_id, created_at, metadata::jsonb AS metadata FROM labelled_runs WHERE metadata IS NOT NULL AND jsonb_typeof(metadata::jsonb) = 'object') r CROSS JOIN LATERAL jsonb_each(r.metadata) l WHERE jsonb_typeof(l.value) = 'string'; RETURN NULL; END $function$;
CREATE TRIGGER run_labels_inserted AFTER INSERT ON runs REFERENCING NEW TABLE AS labelled_runs FOR EACH STATEMENT EXECUTE FUNCTION agentry_label_inserted_runs();
CREATE TRIGGER step_items_changed AFTER UPDATE ON steps REFERENCING OLD TABLE AS old_steps NEW TABLE AS new_steps FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_changed_items();
CREATE TRIGGER step_items_deleted AFTER DELETE ON steps REFERENCING OLD TABLE AS deleted_steps FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_deleted_items();
CREATE TRIGGER step_items_inserted AFTER INSERT ON steps REFERENCING NEW TABLE AS inserted_steps FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_inserted_items();
CREATE TRIGGER tenant_runs_changed AFTER UPDATE OF status ON runs FOR EACH ROW WHEN (((old.status = ANY (ARRAY['queued'::text, 'running'::text, 'waiting'::text])) IS DISTINCT FROM (new.status = ANY (ARRAY['queued'::text, 'running'::text, 'waiting'::text])))) EXECUTE FUNCTION agentry_count_changed_run();
CREATE TRIGGER tenant_runs_deleted AFTER DELETE ON runs REFERENCING OLD TABLE AS deleted_runs FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_deleted_runs();
CREATE TRIGGER tenant_runs_inserted AFTER INSERT ON runs REFERENCING NEW TABLE AS inserted_runs FOR EACH STATEMENT EXECUTE FUNCTION agentry_count_inserted_runs();
