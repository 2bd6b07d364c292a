#!/usr/bin/env bash
# What `npm test` runs, in tiers, so a broken unit fails in a minute and not after provisioning:
#   1. the built CLI and Compose v2 (for side-by-side checks), then every engine-free test
#      (vitest projects unit + offline + conformance), in the background while step 2 provisions;
#   2. a Docker engine (scripts/engine.sh: Engine 26 unless TTA_TEST_ENGINE says otherwise), host
#      packages, the stand-in images, then (once step 1 is done) the whole e2e suite on it;
#   3. when this script can switch engines (it started the engine itself, as in CI): a smoke subset
#      (dev, status, logs, backup) on Engine 20.10, the oldest engine tta supports. Set
#      TTA_TEST_OLD_ENGINE=0 to skip it (said so in the output, never silently).
# Extra arguments go to one vitest run after provisioning instead (e.g. `npm test -- --project unit`).
# Each step is idempotent and cheap when already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

t0=$SECONDS
step() { printf '\n==> [%ss] %s\n' "$((SECONDS - t0))" "$*"; }
mkdir -p .cache
failed=0
# One vitest run; its JSON report's totals printed as one plain line, and remembered for the end.
tier() {
  local name=$1; shift
  step "Tests: $name (vitest run $*)"
  local status=0
  npx vitest run --reporter=default --reporter=json --outputFile.json=".cache/vitest-$name.json" "$@" || status=$?
  node -e '
const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
console.log(`${process.argv[2]}: ${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' ".cache/vitest-$name.json" "$name" | tee -a .cache/test-summary.txt || true
  [ "$status" = 0 ] || failed=1
}
: >.cache/test-summary.txt

step "Docker Compose v2 (scripts/get-compose-v2.sh)"
bash scripts/get-compose-v2.sh
step "Build the CLI (npm run build)"
npm run build

if [ $# -gt 0 ]; then
  step "Docker engine (scripts/engine.sh)"
  bash scripts/engine.sh
  bash scripts/test-deps.sh
  bash scripts/standins.sh
  tier custom "$@"
  exit "$failed"
fi

# The engine-free tier needs nothing provisioned: it runs while the engine, the host packages and
# the stand-ins are installed and built (minutes on a fresh machine), and is waited for before the
# e2e tier, which must not share the two cores with it. Its output is shown once it is done.
step "Tests: engine-free, in the background while the engine is provisioned (output follows when done)"
(tier engine-free --project 'unit*' --project offline --project conformance; exit "$failed") >.cache/engine-free.log 2>&1 &
engine_free=$!
trap 'kill "$engine_free" 2>/dev/null || true' EXIT

step "Docker engine (scripts/engine.sh, TTA_TEST_ENGINE=${TTA_TEST_ENGINE:-26})"
pidfile=${TTA_DOCKERD_PIDFILE:-/run/tta-dockerd.pid}
bash scripts/engine.sh
step "Host packages for the e2e tests (scripts/test-deps.sh)"
bash scripts/test-deps.sh
step "Stand-in images (scripts/standins.sh)"
bash scripts/standins.sh

step "Waiting for the engine-free tier"
engine_free_status=0
wait "$engine_free" || engine_free_status=$?
trap - EXIT
cat .cache/engine-free.log
[ "$engine_free_status" = 0 ] || failed=1
tier "e2e-engine-$(docker version --format '{{.Server.Version}}' | cut -d. -f1)" --project e2e

# The old engine: only when this script's own dockerd can be swapped (never someone else's).
# What differs between engines, not every case again: the stand-ins; dev to ready (no start_interval
# there) and a no-op second run; full to ready (status.test's setup) and status; logs merged and followed;
# backup, restore and verify. Stop and clean are the same list/stop/remove calls on every engine.
# The rest of those files is reported as skipped in the tier's line (it ran on Engine 26).
old_engine_smoke='stand-in images|brings every core service to ready|a second tta dev recreates nothing|--json reports every service healthy|prints the tables and passes --check|--since 1m prints|-f follows a container|backs up every running stateful service|drop the table and FLUSHALL|--verify loads every service'
if [ "${TTA_TEST_OLD_ENGINE:-1}" = 0 ]; then
  step "Engine 20.10 smoke: skipped (TTA_TEST_OLD_ENGINE=0)"
elif [ "${TTA_TEST_ENGINE:-26}" = 20.10 ]; then
  step "Engine 20.10 smoke: the whole suite already ran on 20.10"
elif [ ! -s "$pidfile" ]; then
  step "Engine 20.10 smoke: skipped, the running engine was not started by scripts/engine.sh (CI starts its own and runs it)"
else
  step "Engine 20.10 smoke: stand-ins carried over (docker save/load), engine switched"
  tar=/var/tmp/tta-standins.tar
  # shellcheck disable=SC2046
  docker save -o "$tar" $(docker image ls --format '{{.Repository}}:{{.Tag}}' 'tta-standin/*')
  TTA_TEST_ENGINE=20.10 bash scripts/engine.sh switch
  docker load -q -i "$tar" >/dev/null
  rm -f "$tar"
  TTA_TEST_ENGINE=20.10 bash scripts/standins.sh
  TTA_TEST_ENGINE=20.10 tier e2e-engine-20.10-smoke --project e2e -t "$old_engine_smoke" test/e2e/smoke.test.ts test/e2e/engine.test.ts test/e2e/status.test.ts test/e2e/logs.test.ts test/e2e/backup.test.ts
  step "Back to Engine ${TTA_TEST_ENGINE:-26}"
  bash scripts/engine.sh switch
fi

step "Summary"
cat .cache/test-summary.txt
exit "$failed"
