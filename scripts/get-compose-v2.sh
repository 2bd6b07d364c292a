#!/usr/bin/env bash
# Installs Docker Compose v2 (the CLI plugin) for side-by-side tests and benchmarks.
# Debian bookworm only packages Compose 1.29; trixie's docker-compose package is Compose 2.x,
# a static Go binary, so we fetch that one .deb from the configured Debian mirror and unpack it.
# Idempotent: does nothing when `docker compose version` already reports v2.
set -euo pipefail

plugin_dir=/usr/local/lib/docker/cli-plugins
if docker compose version 2>/dev/null | grep -qE 'v?2\.'; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "get-compose-v2: Compose v2 missing and not root; install the docker-compose-plugin package" >&2
  exit 1
fi

src=/etc/apt/sources.list.d/debian.sources
trixie=/etc/apt/sources.list.d/tta-trixie-tmp.sources
work=$(mktemp -d)
cleanup() { rm -f "$trixie"; rm -rf "$work"; apt-get update -qq >/dev/null 2>&1 || true; }
trap cleanup EXIT

# Copy the first (main archive) entry of the configured source, pointed at trixie.
awk 'BEGIN{RS=""; ORS="\n\n"} NR==1' "$src" | sed -E 's/^Suites:.*/Suites: trixie/' >"$trixie"
apt-get update -qq -o Dir::Etc::sourcelist="$trixie" -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 >/dev/null
(cd "$work" && apt-get download -qq -o Dir::Etc::sourcelist="$trixie" -o Dir::Etc::sourceparts=- docker-compose/trixie)
dpkg -x "$work"/docker-compose_*.deb "$work/x"
mkdir -p "$plugin_dir"
install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "$plugin_dir/docker-compose"
docker compose version
