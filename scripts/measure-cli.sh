#!/usr/bin/env bash
# Start-up time of the built CLI: the median wall time of N runs (default 10) of
# `agentry --version` and of `agentry runs list` against a local SQLite store holding a few
# runs, beside `node -e 0` (the floor: Node itself). Builds dist/ first (npm run build).
#   scripts/measure-cli.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-10}"

npm run build >/dev/null

PROJECT="$(mktemp -d "${TMPDIR:-/tmp}/agentry-measure-XXXXXX")"
trap 'rm -rf "$PROJECT"' EXIT
cp -r examples/demo/. "$PROJECT"
rm -rf "$PROJECT/.agentry"
for i in 1 2 3; do node bin/agentry.js run hello --input "{\"name\":\"run $i\"}" --dir "$PROJECT" >/dev/null; done

# Median wall time in milliseconds of N runs of a command (its output discarded).
median_ms() {
  local times=()
  for _ in $(seq "$N"); do
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s%N)
    times+=($(((end - start) / 1000000)))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { print (NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2) }'
}

echo "median of $N runs (load average: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo n/a))"
printf '%-40s %6s ms\n' 'node -e 0' "$(median_ms node -e 0)"
printf '%-40s %6s ms\n' 'agentry --version' "$(median_ms node bin/agentry.js --version)"
printf '%-40s %6s ms\n' 'agentry --help' "$(median_ms node bin/agentry.js --help)"
printf '%-40s %6s ms\n' 'agentry runs list (local SQLite, 3 runs)' "$(median_ms node bin/agentry.js runs list --dir "$PROJECT")"
