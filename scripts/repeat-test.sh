#!/usr/bin/env bash
# Runs one test file N times in a row and prints how many runs passed: a flake rate you can quote.
#   scripts/repeat-test.sh test/e2e/layers.test.ts 15
#   scripts/repeat-test.sh test/e2e/layers.test.ts 15 -t 'slow link'    (extra args go to vitest)
# Each run's output is kept in test-results/repeat/<file>-<n>.log; failures are listed at the end.
# Expects a built tree (scripts/setup.sh --no-start, or one `npm test`).
set -euo pipefail

repo_dir=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$repo_dir"

if [[ $# -lt 2 || ! -f "$1" || ! "$2" =~ ^[1-9][0-9]*$ ]]; then
	echo "usage: scripts/repeat-test.sh TEST_FILE RUNS [vitest args...]" >&2
	exit 2
fi
file=$1
runs=$2
shift 2

case "$file" in
test/e2e/*) project=e2e ;;
test/integration/*) project=integration ;;
test/deploy/*) project=deploy ;;
*) project=unit ;;
esac

log_dir=test-results/repeat
mkdir -p "$log_dir"
base=$(basename "$file" .ts)
passed=0
failed_runs=()
started=$(date +%s)
for ((run = 1; run <= runs; run++)); do
	log="$log_dir/$base-$run.log"
	run_started=$(date +%s)
	if npx vitest run --project "$project" "$file" "$@" >"$log" 2>&1; then
		passed=$((passed + 1))
		verdict=passed
	else
		failed_runs+=("$run")
		verdict="FAILED (see $log)"
	fi
	printf '[repeat] run %d/%d %s in %ds\n' "$run" "$runs" "$verdict" $(($(date +%s) - run_started)) >&2
done

printf '%s: %d of %d runs passed in %ds\n' "$file" "$passed" "$runs" $(($(date +%s) - started))
if ((${#failed_runs[@]})); then
	printf 'failed runs: %s\n' "${failed_runs[*]}"
	for run in "${failed_runs[@]}"; do
		printf -- '--- run %s: failing tests\n' "$run"
		grep -E '^ *(FAIL|×|✗)|AssertionError|Error:' "$log_dir/$base-$run.log" | head -n 8 || true
	done
	exit 1
fi
