#!/usr/bin/env bash
# Builds the stand-in images `tta-standin/<name>:local` the e2e suite runs instead of the pinned upstream
# images (no registry is reachable from CI). Usage: scripts/standins.sh [--force] [NAME...]
#
#  - base: ONE debootstrap (minbase, bookworm) with every package in scripts/standins/packages.txt,
#    `docker import`ed as tta-standin/base:<base-hash>. Real redis, PostgreSQL, Prometheus & co. run from it.
#  - scripts/standins/<name>/Dockerfile: a tiny build per stand-in, either FROM the base (ARG BASE) or
#    FROM scratch with busybox (ARG-free; plain HTTP stubs for what Debian lacks: Grafana, Loki, Neo4j...).
#    Every build context also gets scripts/standins/common/, the static busybox binary and dash.tar.
#  - caching: every image carries the label tta.standin.hash; an image whose label matches the hash of its
#    inputs (this script, the package list, its directory, common/) is left alone.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sdir=$here/standins
suite=bookworm
label=tta.standin.hash
names=(redis postgres neo4j python prometheus alertmanager grafana loki promtail node-exporter cadvisor
  blackbox-exporter postgres-exporter redis-exporter registry frontend)

force=0
want=()
for arg in "$@"; do
  case $arg in
    --force) force=1 ;;
    -h | --help) sed -n '2,12p' "$0"; exit 0 ;;
    -*) echo "standins: unknown option $arg" >&2; exit 2 ;;
    *) want+=("$arg") ;;
  esac
done
[ ${#want[@]} -gt 0 ] || want=("${names[@]}")
for n in "${want[@]}"; do
  [ -f "$sdir/$n/Dockerfile" ] || { echo "standins: no stand-in named '$n' ($sdir/$n/Dockerfile)" >&2; exit 2; }
done

t0=$SECONDS
say() { printf 'standins [%3ss] %s\n' "$((SECONDS - t0))" "$*"; }
die() { echo "standins: $*" >&2; exit 1; }

docker info >/dev/null 2>&1 || die "Docker engine not reachable (run scripts/engine.sh first)"

# The mirror the machine already uses (deb822 or one-line format), so CI needs no other network access.
mirror() {
  local m=""
  if [ -n "${TTA_DEBIAN_MIRROR:-}" ]; then echo "$TTA_DEBIAN_MIRROR"; return; fi
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${m:-http://deb.debian.org/debian}"
}

packages() { grep -vE '^\s*(#|$)' "$sdir/packages.txt" | tr -s ' \n' ' ' | sed 's/ $//'; }

sha() { sha256sum | cut -c1-16; }

# Hash of a directory's files (names, modes, contents) in a stable order.
dir_hash() {
  (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | while IFS= read -r -d '' f; do
    printf '%s %s ' "$f" "$(stat -c %a "$f")"
    sha256sum <"$f"
  done) | sha
}

image_hash_label() { docker image inspect --format "{{index .Config.Labels \"$label\"}}" "$1" 2>/dev/null || true; }

build_base() {
  local tag=$1 hash=$2 root
  command -v debootstrap >/dev/null 2>&1 || {
    [ "$(id -u)" = 0 ] || die "debootstrap missing and not root"
    say "installing debootstrap"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap </dev/null >/dev/null ||
      { apt-get update -qq </dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap </dev/null >/dev/null; }
  }
  [ "$(id -u)" = 0 ] || die "building the base rootfs needs root (debootstrap)"
  root=$(mktemp -d /var/tmp/tta-standin-root.XXXXXX)
  # Removed on any exit; a half-built rootfs is never reused.
  trap 'rm -rf "$root"' EXIT
  say "debootstrap $suite (minbase) from $(mirror) -> $root"
  local pkgs
  pkgs=$(packages | tr ' ' ',')
  if ! debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" "$(mirror)" >"$root.log" 2>&1; then
    tail -n 40 "$root.log" >&2
    die "debootstrap failed; full log: $root.log"
  fi
  rm -f "$root.log"
  say "debootstrap done; trimming"
  # No init system in the images: drop the cluster Debian's postinst made, docs and apt caches.
  rm -rf "$root"/var/lib/postgresql/15/main "$root"/etc/postgresql/15/main \
    "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
    "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/*
  say "docker import -> $tag"
  tar -C "$root" --numeric-owner -c . | docker import \
    -c "LABEL $label=$hash" \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8' \
    -c 'CMD ["/bin/bash"]' - "$tag" >/dev/null
  rm -rf "$root"
  trap - EXIT
}

# ---- base image -------------------------------------------------------------------------------------
base_hash=$( { declare -f build_base; echo "$suite $(mirror)"; packages; } | sha)
base=tta-standin/base:$base_hash
if [ "$force" = 0 ] && [ "$(image_hash_label "$base")" = "$base_hash" ]; then
  say "base $base up to date"
else
  build_base "$base" "$base_hash"
  say "base built: $(docker image inspect --format '{{.Size}}' "$base" | awk '{printf "%d MB", $1/1e6}')"
fi
# Older bases only waste disk; untag them (layers still used by a dangling stand-in stay until pruned).
docker image ls --format '{{.Repository}}:{{.Tag}}' tta-standin/base | grep -vx "$base" | xargs -r docker rmi >/dev/null 2>&1 || true

# ---- per-service images -----------------------------------------------------------------------------
script_hash=$(sha <"$0")
common_hash=$(dir_hash "$sdir/common")
busybox_cache=""
built=0
for n in "${want[@]}"; do
  img=tta-standin/$n:local
  h=$(echo "$base_hash $script_hash $common_hash $(dir_hash "$sdir/$n")" | sha)
  if [ "$force" = 0 ] && [ "$(image_hash_label "$img")" = "$h" ]; then
    say "$img up to date"
    continue
  fi
  ctx=$(mktemp -d)
  cp -a "$sdir/common" "$ctx/common"
  cp -a "$sdir/$n/." "$ctx/"
  # Static busybox and dash (+ the libraries it loads) come from the base, so stubs change exactly
  # when the base does. dash is the stubs' /bin/sh: Debian's busybox ash runs its own applets before
  # searching PATH, which would bypass the wget/curl wrappers in `sh -c` healthchecks.
  if [ -z "$busybox_cache" ]; then
    busybox_cache=$(mktemp -d)
    docker run --rm --entrypoint cat "$base" /bin/busybox >"$busybox_cache/busybox"
    docker run --rm --entrypoint sh "$base" -c \
      'tar -ch -f - /usr/bin/dash $(ldd /usr/bin/dash | grep -o "/[^ ]*")' >"$busybox_cache/dash.tar" 2>/dev/null
  fi
  cp "$busybox_cache/busybox" "$busybox_cache/dash.tar" "$ctx/"
  chmod 0755 "$ctx/busybox"
  say "building $img"
  if ! out=$(DOCKER_BUILDKIT=0 docker build -q --force-rm --build-arg "BASE=$base" --label "$label=$h" -t "$img" "$ctx" 2>&1); then
    echo "$out" >&2
    rm -rf "$ctx"
    die "building $img failed"
  fi
  rm -rf "$ctx"
  built=$((built + 1))
done
[ -z "$busybox_cache" ] || rm -rf "$busybox_cache"
docker image prune -f --filter "label=$label" >/dev/null 2>&1 || true
say "done: ${#want[@]} stand-ins ($built built)"
