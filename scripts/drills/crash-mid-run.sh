#!/usr/bin/env bash
# Incident drill: the engine is killed (SIGKILL) in the middle of a run, and restarted.
#
# On a throwaway project and SQLite store (in a temporary directory, removed at the end): starts
# `agentry serve`, starts a run of a three-step workflow, waits until the run is parked in its
# durable sleep, kills the server with SIGKILL, checks the run is still there (not lost, not
# ended), starts the server again and checks the run resumes and succeeds with each step done
# exactly once. Prints one line per check and `drill passed`; exits 0, or 1 naming what failed.
#
#   scripts/drills/crash-mid-run.sh                 # uses `agentry` on the PATH
#   AGENTRY="node dist/cli/main.js" scripts/drills/crash-mid-run.sh
#
# See docs/operations/runbooks/worker-crash-loop.md. Needs: bash, curl, node (for JSON).
set -euo pipefail

source "$(dirname "$0")/lib.sh"
drill_dir crash

export AGENTRY_PROJECT_DIR="$DIR/project"
export AGENTRY_POLL_INTERVAL="${AGENTRY_POLL_INTERVAL:-200ms}"
unset AGENTRY_URL AGENTRY_DATABASE_URL
mkdir -p "$AGENTRY_PROJECT_DIR/workflows"
printf 'version: v1\nname: crash-drill\n' >"$AGENTRY_PROJECT_DIR/agentry.yaml"
cat >"$AGENTRY_PROJECT_DIR/workflows/crash-drill.yaml" <<'YAML'
name: crash-drill
steps:
  before: { transform: { n: 1 } }
  nap: { needs: [before], sleep: 5s }
  after: { needs: [nap], transform: { n: 2 } }
YAML


# A run as JSON → "<run status> <step>=<status>:<attempt> …"
SUMMARY='let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => {
  const run = JSON.parse(t);
  console.log([run.status, ...run.steps.map((s) => `${s.id}=${s.status}:${s.attempt}`)].join(" "));
});'
# While the server runs, through its API (quick); while it is down, from the store with the CLI.
run_state() {
  if [[ -n "$SERVER_PID" ]]; then curl -fsS "$URL/v1/runs/$1" | node -e "$SUMMARY"; else agentry runs get "$1" --json | node -e "$SUMMARY"; fi
}

# Polls `run_state` until it matches the pattern (an extended regex) or the seconds pass.
wait_for() {
  local id="$1" pattern="$2" deadline=$((SECONDS + $3)) state=""
  while ((SECONDS < deadline)); do
    state="$(run_state "$id" 2>/dev/null || true)"
    if [[ "$state" =~ $pattern ]]; then
      echo "$state"
      return 0
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the server exited while waiting for: $pattern (run: $state)"
    sleep 0.2
  done
  fail "run $id did not reach '$pattern' within $3s (now: $state)"
}

start_server --no-auth
RUN_ID="$(curl -fsS -X POST "$URL/v1/workflows/crash-drill/runs" -H 'Content-Type: application/json' -d '{"input":{}}' |
  node -e 'let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => console.log(JSON.parse(t).id))')"
[[ "$RUN_ID" == run_* ]] || fail "could not start a run"
pass "run $RUN_ID started"

wait_for "$RUN_ID" '^waiting ' 60 >/dev/null
pass "run $RUN_ID is mid-run (step before done, parked in its durable sleep)"

kill -KILL "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
STATE="$(run_state "$RUN_ID")"
[[ "$STATE" =~ ^waiting\  ]] || fail "after SIGKILL the run should still be waiting, it is: $STATE"
pass "server killed with SIGKILL; the run is intact in the store ($STATE)"

start_server --no-auth
FINAL="$(wait_for "$RUN_ID" '^succeeded ' 60)"
pass "server restarted; run $RUN_ID resumed and succeeded ($FINAL)"

for step in before nap after; do
  [[ " $FINAL " == *" $step=succeeded:1 "* ]] || fail "step $step should have succeeded in exactly one attempt: $FINAL"
done
pass "each step succeeded exactly once (no step ran twice)"
echo "drill passed"
