# Shared by the incident drill scripts (sourced, not run): the `agentry` command, a throwaway
# directory removed at exit (with the server stopped), PASS/FAIL lines and starting `agentry serve`.
#
#   source "$(dirname "$0")/lib.sh"
#   drill_dir crash            # DIR=<temp dir>, removed at exit
#   start_server --no-auth     # agentry serve --port 0 <args>: sets SERVER_PID and URL

read -r -a AGENTRY_CMD <<<"${AGENTRY:-agentry}"
DIR=""
SERVER_PID=""
URL=""

agentry() { "${AGENTRY_CMD[@]}" "$@"; }

drill_cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [[ -n "$DIR" ]] && rm -rf "$DIR"
}

# Makes the drill's temporary directory ($DIR) and removes it (and stops the server) at exit.
drill_dir() {
  DIR="$(mktemp -d "${TMPDIR:-/tmp}/agentry-$1-drill.XXXXXX")"
  trap drill_cleanup EXIT
}

fail() {
  echo "FAIL  $*" >&2
  [[ -f "$DIR/serve.log" ]] && tail -n 20 "$DIR/serve.log" >&2
  exit 1
}
pass() { echo "PASS  $*"; }

# Starts `agentry serve --port 0 <args>` in the background (not through `agentry`: $! must be the
# server itself, for a SIGKILL) and waits until it listens: sets SERVER_PID and URL.
start_server() {
  : >"$DIR/serve.out"
  "${AGENTRY_CMD[@]}" serve --port 0 "$@" >"$DIR/serve.out" 2>>"$DIR/serve.log" &
  SERVER_PID=$!
  URL=""
  for ((i = 0; i < 600; i++)); do
    URL="$(sed -n 's/^Agentry API listening on \(http[^ ]*\).*/\1/p' "$DIR/serve.out")"
    [[ -n "$URL" ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || fail "agentry serve exited at start"
    sleep 0.1
  done
  fail "agentry serve did not listen within 60s"
}
