#!/usr/bin/env bash
# Incident drill: a managed API key leaks, and is rotated.
#
# On a throwaway project and SQLite store (in a temporary directory, removed at the end): starts
# `agentry serve` with auth on (a bootstrap admin key in AGENTRY_API_KEYS), creates a managed key
# with `agentry keys create`, uses it (starts a run, reads runs), then handles the leak with the
# commands of docs/operations/runbooks/leaked-api-key.md: `agentry keys rotate <key> --grace 0s`,
# the old key → 401 and the new one → 200 on /v1/auth/whoami, and `agentry audit list` showing
# the run the old key started, the rotation, and the refused sign-in of the old key. Prints one
# line per check and `drill passed`; exits 0, or 1 naming what failed.
#
#   scripts/drills/leaked-key.sh                 # uses `agentry` on the PATH
#   AGENTRY="node dist/cli/main.js" scripts/drills/leaked-key.sh
#
# Needs: bash, curl, node (for JSON and a random key).
set -euo pipefail

source "$(dirname "$0")/lib.sh"
drill_dir key

KEY_NAME="drill-bot"
ADMIN_KEY="drill-admin-$(node -e 'console.log(require("node:crypto").randomBytes(16).toString("hex"))')"
export AGENTRY_PROJECT_DIR="$DIR/project"
export AGENTRY_POLL_INTERVAL="${AGENTRY_POLL_INTERVAL:-200ms}"
unset AGENTRY_URL AGENTRY_API_KEY AGENTRY_DATABASE_URL AGENTRY_ADMIN_API_KEY AGENTRY_AUTH AGENTRY_TENANCY
mkdir -p "$AGENTRY_PROJECT_DIR/workflows"
printf 'version: v1\nname: key-drill\n' >"$AGENTRY_PROJECT_DIR/agentry.yaml"
printf 'version: v1\nname: hello\nsteps:\n  greet: { transform: { text: hi } }\n' >"$AGENTRY_PROJECT_DIR/workflows/hello.yaml"

# The HTTP status `GET /v1/auth/whoami` answers for a key (the runbook's Verify command).
status_of() { curl -s -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $1" "$AGENTRY_URL/v1/auth/whoami"; }

# The CLI acts as the admin handling the incident (bootstrap key, principal `admin`), against the server.
AGENTRY_API_KEYS="admin:$ADMIN_KEY:admin" start_server
export AGENTRY_URL="$URL" AGENTRY_API_KEY="$ADMIN_KEY"
[[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/runs")" == 401 ]] || fail "auth is not on: GET /v1/runs without a key was not refused"
pass "agentry serve is up at $URL with auth on"

# Audit queries from a little before anything happened.
EXPOSED_AT="$(node -e 'console.log(new Date(Date.now() - 60_000).toISOString())')"
LEAKED="$(agentry keys create --name "$KEY_NAME" --role operator 2>>"$DIR/cli.log")" || fail "agentry keys create failed: $(tail -n 3 "$DIR/cli.log")"
[[ "$LEAKED" == agk_* ]] || fail "agentry keys create printed no agk_ key: $LEAKED"
[[ "$(status_of "$LEAKED")" == 200 ]] || fail "the new managed key $KEY_NAME does not sign in"
pass "managed key $KEY_NAME created with agentry keys create"

RUN_ID="$(curl -fsS -X POST "$URL/v1/workflows/hello/runs" -H "Authorization: Bearer $LEAKED" -H 'Content-Type: application/json' -d '{"input":{}}' |
  node -e 'let t = ""; process.stdin.on("data", (c) => (t += c)).on("end", () => console.log(JSON.parse(t).id))')" || fail "the key could not start a run"
[[ "$RUN_ID" == run_* ]] || fail "the key could not start a run"
curl -fsS -o /dev/null -H "Authorization: Bearer $LEAKED" "$URL/v1/runs" || fail "the key could not list runs"
pass "the key was used: it started run $RUN_ID and listed runs"

# The leak. Runbook, Fix: rotate it with no grace; the new secret alone on stdout.
FRESH="$(agentry keys rotate "$KEY_NAME" --grace 0s 2>>"$DIR/cli.log")" || fail "agentry keys rotate failed: $(tail -n 3 "$DIR/cli.log")"
[[ "$FRESH" == agk_* && "$FRESH" != "$LEAKED" ]] || fail "agentry keys rotate printed no new agk_ key: $FRESH"
pass "agentry keys rotate $KEY_NAME --grace 0s issued a new key"

# Runbook, Verify 1: the leaked key is refused (every API process within 5 s), the new one signs in.
OLD_STATUS=""
for ((i = 0; i < 30; i++)); do
  OLD_STATUS="$(status_of "$LEAKED")"
  [[ "$OLD_STATUS" == 401 ]] && break
  sleep 0.2
done
[[ "$OLD_STATUS" == 401 ]] || fail "the leaked key should get 401 after the rotation, it gets $OLD_STATUS"
pass "the leaked key gets 401"
NEW_STATUS="$(status_of "$FRESH")"
[[ "$NEW_STATUS" == 200 ]] || fail "the new key should get 200, it gets $NEW_STATUS"
pass "the new key gets 200"

# Runbook, Verify 2 and 3: what was done with it, the rotation, who still presents it (the three
# queries side by side).
agentry audit list --principal "$KEY_NAME" --after "$EXPOSED_AT" --all >"$DIR/audit-key.txt" 2>&1 &
BY_KEY_PID=$!
agentry audit list --principal admin --after "$EXPOSED_AT" --all >"$DIR/audit-admin.txt" 2>&1 &
BY_ADMIN_PID=$!
agentry audit list --action auth.sign_in --after "$EXPOSED_AT" >"$DIR/audit-sign-in.txt" 2>&1 &
SIGN_INS_PID=$!
wait "$BY_KEY_PID" || fail "agentry audit list --principal $KEY_NAME failed: $(cat "$DIR/audit-key.txt")"
wait "$BY_ADMIN_PID" || fail "agentry audit list --principal admin failed: $(cat "$DIR/audit-admin.txt")"
wait "$SIGN_INS_PID" || fail "agentry audit list --action auth.sign_in failed: $(cat "$DIR/audit-sign-in.txt")"
BY_KEY="$(cat "$DIR/audit-key.txt")"
[[ "$BY_KEY" =~ $KEY_NAME\ +run\.start\ +workflow:hello\ +success ]] || fail "the audit log does not show the run the leaked key started: $BY_KEY"
pass "agentry audit list shows the leaked key's use (run.start of $RUN_ID)"
BY_ADMIN="$(cat "$DIR/audit-admin.txt")"
[[ "$BY_ADMIN" =~ key\.rotate\ .*key:[a-z0-9_-]+/$KEY_NAME ]] || fail "the audit log does not show the rotation: $BY_ADMIN"
pass "agentry audit list shows the rotation (key.rotate by admin)"
SIGN_INS="$(cat "$DIR/audit-sign-in.txt")"
[[ "$SIGN_INS" =~ auth\.sign_in\ .*denied ]] || fail "the audit log does not show the old key's refused sign-in: $SIGN_INS"
pass "agentry audit list shows the old key's refused sign-in"
echo "drill passed"
