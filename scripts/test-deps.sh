#!/usr/bin/env bash
# Host packages the e2e tests use besides the engine (scripts/engine.sh) and Compose v2
# (scripts/get-compose-v2.sh): openssh-server, whose sshd the ssh:// deploy test runs on its own
# port with its own config and keys; chromium, which the `tta ui` test drives headless through
# playwright-core (`npx playwright install` cannot download browsers here). Idempotent: does
# nothing when everything is there.
set -euo pipefail

missing=()
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ "${#missing[@]}" = 0 ] && exit 0

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "test-deps: missing ${missing[*]}: install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "test-deps: installing ${missing[*]} from apt"
# The package would start a system sshd on port 22 of every address; the tests need only the
# binary. policy-rc.d (exit 101) tells invoke-rc.d not to start services during the install.
policy=/usr/sbin/policy-rc.d
added_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  added_policy=1
fi
trap 'if [ "$added_policy" = 1 ]; then rm -f "$policy"; fi' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq </dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null >/dev/null
