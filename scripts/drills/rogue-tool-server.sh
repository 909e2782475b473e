#!/usr/bin/env bash
# Incident drill: a rogue MCP tool server — its calls hang, then it crashes on every call.
#
# On a throwaway project and SQLite store (in a temporary directory, removed at the end): writes a
# tiny stdio MCP server (plain node speaking JSON-RPC, no SDK) whose `slow` tool never answers and
# whose `lookup` tool kills its process, starts `agentry serve`, and checks a run calling `slow`
# fails `tool_timeout` and runs calling `lookup` fail `tool_unavailable` until the server's restart
# budget is used up. Then follows docs/operations/runbooks/tool-server.md: `agentry tools disable`
# (calls now fail fast `tool_disabled`, not retried; `agentry tools list` shows it disabled; the API
# stays up), a fixed server, `agentry tools enable`, and `agentry runs retry` of the hung run and
# the disabled one, which succeed. Prints one line per check and `drill passed`; exits 0, or 1 naming what failed.
#
#   scripts/drills/rogue-tool-server.sh                 # uses `agentry` on the PATH
#   AGENTRY="node dist/cli/main.js" scripts/drills/rogue-tool-server.sh
#
# Needs: bash, curl, node (for JSON and the tool server).
set -euo pipefail

source "$(dirname "$0")/lib.sh"
drill_dir tool

NODE="$(command -v node)" || fail "node is not on the PATH"
export AGENTRY_PROJECT_DIR="$DIR/project"
export AGENTRY_POLL_INTERVAL="${AGENTRY_POLL_INTERVAL:-200ms}"
unset AGENTRY_URL AGENTRY_API_KEY AGENTRY_DATABASE_URL
mkdir -p "$AGENTRY_PROJECT_DIR/workflows" "$AGENTRY_PROJECT_DIR/tools"
printf 'version: v1\nname: tool-drill\n' >"$AGENTRY_PROJECT_DIR/agentry.yaml"
cat >"$AGENTRY_PROJECT_DIR/tools/rogue.yaml" <<YAML
version: v1
name: rogue
command: $NODE
args: [$DIR/rogue-server.cjs]
timeout: 1s
restart: { max_restarts: 1, window: 10m, backoff: { initial: 50ms, max: 100ms } }
YAML
printf 'version: v1\nname: lookup\nsteps:\n  call: { tool: { server: rogue, name: lookup, args: { word: drill } } }\n' >"$AGENTRY_PROJECT_DIR/workflows/lookup.yaml"
printf 'version: v1\nname: report\nsteps:\n  call: { tool: { server: rogue, name: slow } }\n' >"$AGENTRY_PROJECT_DIR/workflows/report.yaml"

# The tool server, `rogue` (hangs on `slow`, exits on `lookup`) or `fixed` (answers both).
write_tool_server() {
  sed "s/__BEHAVIOR__/$1/" >"$DIR/rogue-server.cjs" <<'JS'
const BEHAVIOR = '__BEHAVIOR__';
const send = (message) => process.stdout.write(`${JSON.stringify({ jsonrpc: '2.0', ...message })}\n`);
const TOOLS = [
  { name: 'lookup', description: 'Looks a word up.', inputSchema: { type: 'object', properties: { word: { type: 'string' } } } },
  { name: 'slow', description: 'Builds a report.', inputSchema: { type: 'object', properties: {} } },
];
require('node:readline')
  .createInterface({ input: process.stdin })
  .on('line', (line) => {
    if (line.trim() === '') return;
    const { id, method, params } = JSON.parse(line);
    if (id === undefined) return; // a notification
    if (method === 'initialize') {
      return send({ id, result: { protocolVersion: params.protocolVersion, capabilities: { tools: {} }, serverInfo: { name: 'rogue', version: '1.0.0' } } });
    }
    if (method === 'ping') return send({ id, result: {} });
    if (method === 'tools/list') return send({ id, result: { tools: TOOLS } });
    if (method === 'tools/call') {
      if (BEHAVIOR === 'rogue' && params.name === 'slow') return; // hangs: never answers
      if (BEHAVIOR === 'rogue') {
        console.error(`rogue: ${params.name} crashed`);
        process.exit(1);
      }
      const text = params.name === 'lookup' ? `found ${params.arguments.word}` : 'report done';
      return send({ id, result: { content: [{ type: 'text', text }] } });
    }
    send({ id, error: { code: -32601, message: `method not found: ${method}` } });
  });
JS
}
write_tool_server rogue

# A run as JSON → "<run status> <error code or -> <step status>:<attempt> <error message>"
SUMMARY='let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => {
  const run = JSON.parse(t);
  const step = run.steps.find((s) => s.id === "call") ?? {};
  console.log([run.status, run.error?.code ?? "-", `${step.status}:${step.attempt}`, run.error?.message ?? ""].join(" "));
});'
# Starts a run of the workflow and waits for it to end (at most 30 s): sets RUN_ID and RUN_STATE (SUMMARY).
start_run() {
  local out
  out="$(curl -fsS -X POST "$URL/v1/workflows/$1/runs?wait=30s" -H 'Content-Type: application/json' -d '{"input":{}}')" || fail "POST /v1/workflows/$1/runs failed"
  RUN_ID="$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "$out")"
  RUN_STATE="$(run_state "$RUN_ID")" || fail "GET /v1/runs/$RUN_ID failed"
}
run_state() { curl -fsS "$URL/v1/runs/$1" | node -e "$SUMMARY"; }
# The state of the tool server `rogue` (GET /v1/tools, which `agentry tools list` shows).
tool_state() {
  curl -fsS "$URL/v1/tools" | node -e 'let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => {
    const body = JSON.parse(t);
    console.log((body.items ?? body).find((s) => s.name === "rogue")?.state ?? "missing");
  });'
}

start_server --no-auth
export AGENTRY_URL="$URL"
pass "agentry serve is up at $URL with the tool server rogue"

# The incident: a call hangs past the server's timeout; calls crash the server until its restart budget is used up.
start_run report
[[ "$RUN_STATE" =~ ^failed\ tool_timeout\  ]] || fail "a hanging call should fail tool_timeout: $RUN_STATE"
RETRY=("$RUN_ID")
pass "a call that hangs fails tool_timeout (run $RUN_ID)"
for attempt in 1 2; do
  start_run lookup
  [[ "$RUN_STATE" =~ ^failed\ tool_unavailable\  ]] || fail "a call that crashes the server should fail tool_unavailable: $RUN_STATE"
done
start_run lookup
[[ "$RUN_STATE" =~ ^failed\ tool_unavailable\ .*restart\ budget\ used\ up ]] || fail "once the server crashed past its restart budget, calls should fail tool_unavailable naming it: $RUN_STATE"
[[ "$(tool_state)" == failed ]] || fail "the tool server should be failed, it is: $(tool_state)"
pass "calls that crash the server fail tool_unavailable until its restart budget is used up (the server: failed)"

# Runbook, Fix 1: disable it; its calls fail fast with tool_disabled, not retried.
agentry tools disable rogue --reason "crashes on every call, drill" >/dev/null || fail "agentry tools disable rogue failed"
start_run lookup
[[ "$RUN_STATE" =~ ^failed\ tool_disabled\ failed:1\ .*crashes\ on\ every\ call,\ drill ]] || fail "after disable, calls should fail tool_disabled at once (one attempt, naming the reason): $RUN_STATE"
RETRY+=("$RUN_ID")
pass "agentry tools disable rogue: calls fail fast with tool_disabled, not retried (run $RUN_ID)"
TOOLS="$(agentry tools list)" || fail "agentry tools list failed"
[[ "$TOOLS" =~ rogue\ +stdio\ +disabled ]] || fail "agentry tools list should show rogue disabled: $TOOLS"
pass "agentry tools list shows rogue disabled"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" == 200 ]] || fail "the API is not healthy (/healthz)"
curl -fsS -o /dev/null "$URL/v1/runs" || fail "the API does not answer GET /v1/runs"
kill -0 "$SERVER_PID" 2>/dev/null || fail "agentry serve exited"
pass "the API stays up (/healthz 200, GET /v1/runs 200)"

# Runbook, Fix 2–4: fix the server, enable it, retry the runs that failed on it (one of each kind:
# hung, disabled; side by side).
write_tool_server fixed
agentry tools enable rogue >/dev/null || fail "agentry tools enable rogue failed"
RETRY_PIDS=()
for id in "${RETRY[@]}"; do
  agentry runs retry "$id" --json >"$DIR/retry-$id.json" 2>"$DIR/retry-$id.err" &
  RETRY_PIDS+=($!)
done
RETRIED=()
for n in "${!RETRY[@]}"; do
  id="${RETRY[$n]}"
  wait "${RETRY_PIDS[$n]}" || fail "agentry runs retry $id failed: $(cat "$DIR/retry-$id.err")"
  RETRIED+=("$(node -e 'console.log(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).id)' "$DIR/retry-$id.json")") ||
    fail "agentry runs retry $id --json printed no run: $(cat "$DIR/retry-$id.json")"
done
for id in "${RETRIED[@]}"; do
  state=""
  for ((i = 0; i < 150; i++)); do
    state="$(run_state "$id" 2>/dev/null || true)"
    [[ "$state" =~ ^(succeeded|failed|cancelled|timed_out)\  ]] && break
    sleep 0.2
  done
  [[ "$state" =~ ^succeeded\  ]] || fail "the retried run $id should succeed: $state"
done
pass "fixed and enabled (agentry tools enable rogue): the ${#RETRIED[@]} retried runs succeed"
[[ "$(tool_state)" == connected ]] || fail "the tool server should be connected, it is: $(tool_state)"
pass "the tool server is connected again"
echo "drill passed"
