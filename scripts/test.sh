#!/usr/bin/env bash
# What `npm test` runs: a Docker engine, Compose v2 (for side-by-side checks), the built CLI, the
# stand-in images, then every vitest project. Extra arguments go to vitest
# (e.g. `npm test -- --project unit`). Each step is idempotent and cheap when already done.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

t0=$SECONDS
step() { printf '\n==> [%ss] %s\n' "$((SECONDS - t0))" "$*"; }

step "Docker engine (scripts/engine.sh)"
bash scripts/engine.sh
step "Docker Compose v2 (scripts/get-compose-v2.sh)"
bash scripts/get-compose-v2.sh
step "Host packages for the e2e tests (scripts/test-deps.sh)"
bash scripts/test-deps.sh
step "Build the CLI (npm run build)"
npm run build
step "Stand-in images (scripts/standins.sh)"
bash scripts/standins.sh
step "Tests (vitest run $*)"
mkdir -p .cache
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=.cache/vitest.json "$@" || status=$?
# One plain closing line, whatever the reporter printed above it.
node -e '
const r = JSON.parse(require("fs").readFileSync(".cache/vitest.json", "utf8"));
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' || true
exit "$status"
