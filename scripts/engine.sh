#!/usr/bin/env bash
# Provisions a Docker engine for the e2e suite and CI, idempotently.
#   scripts/engine.sh         ensure `docker info` works (install docker.io + start dockerd if needed)
#   scripts/engine.sh stop    stop the dockerd this script started (no-op otherwise)
#   scripts/engine.sh switch  stop the dockerd this script started, then start the one TTA_TEST_ENGINE names
# TTA_TEST_ENGINE picks the engine: 26 (default: Docker Engine 26 from Debian trixie's docker.io and
# containerd packages, run on bookworm with bookworm's runc, since trixie's needs glibc 2.38) or 20.10
# (bookworm's docker.io, the oldest engine tta supports). Each keeps its own data root, so switching
# never mixes their images; both listen on the default socket, one at a time.
# dockerd is started fully detached (own session, stdin from /dev/null, output to a log file): a daemon
# that inherits CI's output pipe keeps the run from ever finishing.
set -euo pipefail

log=${TTA_DOCKERD_LOG:-/var/log/tta-dockerd.log}
pidfile=${TTA_DOCKERD_PIDFILE:-/run/tta-dockerd.pid}
wait_s=${TTA_DOCKERD_WAIT:-60}
want=${TTA_TEST_ENGINE:-26}
engine26_dir=${TTA_ENGINE26_DIR:-/opt/tta-engine26}
case $want in
  26 | 20.10) ;;
  *) echo "engine: TTA_TEST_ENGINE must be 26 or 20.10 (got '$want')" >&2; exit 2 ;;
esac

say() { echo "engine: $*"; }
die() { echo "engine: $*" >&2; exit 1; }

engine_up() { docker info >/dev/null 2>&1; }

stop_engine() {
  if [ ! -s "$pidfile" ]; then
    say "no dockerd started by this script (no $pidfile)"
    return 0
  fi
  local pid
  pid=$(cat "$pidfile")
  # Only signal the process if it still is a dockerd, so a recycled pid is never hit.
  if [ -r "/proc/$pid/comm" ] && [ "$(cat "/proc/$pid/comm")" = dockerd ]; then
    say "stopping dockerd (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do
      [ -d "/proc/$pid" ] || break
      sleep 0.1
    done
    if [ -d "/proc/$pid" ]; then
      say "dockerd did not stop within 30 s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$pidfile"
}

server_version() { docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'; }

case "${1:-start}" in
  stop) stop_engine; exit 0 ;;
  switch) stop_engine ;;
  start) ;;
  *) die "usage: $0 [start|stop|switch]" ;;
esac

if engine_up; then
  v=$(server_version)
  # An engine this script started but of the other version is swapped; anyone else's is used as it is.
  if [ -s "$pidfile" ] && [ "${v%%.*}" != "${want%%.*}" ]; then
    say "engine $v is running, $want wanted: switching"
    stop_engine
  else
    say "Docker engine reachable ($v)"
    exit 0
  fi
fi

if [ "$(id -u)" != 0 ]; then
  die "Docker engine not reachable and not root: start dockerd yourself (or set DOCKER_HOST) and retry"
fi
if ! command -v apt-get >/dev/null 2>&1 || ! grep -qiE '^(ID|ID_LIKE)=.*(debian|ubuntu)' /etc/os-release 2>/dev/null; then
  die "Docker engine not reachable and this is not Debian/Ubuntu: install and start Docker yourself, then retry"
fi

if ! command -v dockerd >/dev/null 2>&1 || ! command -v docker >/dev/null 2>&1; then
  say "installing docker.io from apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq </dev/null
  apt-get install -y -qq docker.io </dev/null >/dev/null
  # Under systemd the package starts its own daemon; use that one instead of starting a second.
  if [ -d /run/systemd/system ]; then
    for _ in $(seq 1 20); do
      if engine_up; then say "Docker engine started by the docker.io package (systemd)"; exit 0; fi
      sleep 0.5
    done
  fi
fi
# The apt package ships containerd/runc; dockerd starts its own containerd when none is running.

# Engine 26: trixie's docker.io + containerd unpacked under $engine26_dir, found through a private apt list
# dir (the machine's own sources are never changed). Bookworm's runc stays first on PATH.
ensure_engine26() {
  if [ -x "$engine26_dir/usr/sbin/dockerd" ] && [ -x "$engine26_dir/usr/bin/containerd" ]; then return 0; fi
  local src=/etc/apt/sources.list.d/debian.sources work lists
  [ -f "$src" ] || die "engine 26 needs the deb822 source $src to derive a trixie entry from"
  work=$(mktemp -d)
  lists=$work/lists
  mkdir -p "$lists/partial" "$work/x"
  awk 'BEGIN{RS=""; ORS="\n\n"} NR==1' "$src" | sed -E 's/^Suites:.*/Suites: trixie/' >"$work/trixie.sources"
  local opts=(-o Dir::Etc::sourcelist="$work/trixie.sources" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$lists" -o APT::Sandbox::User=root)
  say "fetching Docker Engine 26 (trixie docker.io + containerd)"
  apt-get update -qq "${opts[@]}" </dev/null >/dev/null
  (cd "$work" && apt-get download -qq "${opts[@]}" docker.io/trixie containerd/trixie </dev/null >/dev/null)
  rm -rf "$engine26_dir.tmp"
  mkdir -p "$engine26_dir.tmp"
  for deb in "$work"/*.deb; do dpkg -x "$deb" "$engine26_dir.tmp"; done
  # trixie's runc needs glibc 2.38; bookworm's (from the docker.io package above) is used instead.
  rm -f "$engine26_dir.tmp/usr/sbin/runc" "$engine26_dir.tmp/usr/bin/runc"
  rm -rf "$engine26_dir"
  mv "$engine26_dir.tmp" "$engine26_dir"
  rm -rf "$work"
}

# 20.10 keeps its own data and exec roots; 26, the engine users run, has the standard ones
# (/var/lib/docker), where tools that read the engine's files (the cAdvisor stand-in) look.
dockerd_cmd=(dockerd --pidfile /var/run/docker.pid --data-root /var/lib/docker-20.10 --exec-root /var/run/docker-20.10)
dockerd_env=()
if [ "$want" = 26 ]; then
  command -v runc >/dev/null 2>&1 || die "runc missing: install bookworm's docker.io (it brings runc) and retry"
  ensure_engine26
  dockerd_cmd=("$engine26_dir/usr/sbin/dockerd" --pidfile /var/run/docker.pid)
  # docker-init, docker-proxy and containerd come from the unpacked tree; runc from bookworm.
  dockerd_env=(env "PATH=$engine26_dir/usr/sbin:$engine26_dir/usr/bin:$engine26_dir/usr/libexec/docker:$PATH")
fi

if [ -s "$pidfile" ] && [ "$(cat "/proc/$(cat "$pidfile")/comm" 2>/dev/null)" = dockerd ]; then
  say "dockerd already started (pid $(cat "$pidfile")); waiting for it"
else
  mkdir -p "$(dirname "$log")" "$(dirname "$pidfile")"
  say "starting dockerd (log: $log)"
  # setsid: own session, so CI's process group and terminal signals never reach it.
  setsid "${dockerd_env[@]}" "${dockerd_cmd[@]}" >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
fi

# setsid forks when its caller leads a process group, so $! may be a short-lived setsid: trust
# dockerd's own pid file once it exists.
adopt_pid() {
  local p
  p=$(cat /var/run/docker.pid 2>/dev/null || true)
  if [ -n "$p" ] && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = dockerd ]; then echo "$p" >"$pidfile"; fi
}
start=$SECONDS
while ! engine_up; do
  adopt_pid
  if [ ! -d "/proc/$(cat "$pidfile")" ] && sleep 1 && adopt_pid && [ ! -d "/proc/$(cat "$pidfile")" ]; then
    echo "--- last lines of $log ---" >&2
    tail -n 30 "$log" >&2 || true
    rm -f "$pidfile"
    die "dockerd exited during startup; see $log"
  fi
  if [ $((SECONDS - start)) -ge "$wait_s" ]; then
    echo "--- last lines of $log ---" >&2
    tail -n 30 "$log" >&2 || true
    die "dockerd did not answer \`docker info\` within ${wait_s} s; see $log"
  fi
  sleep 0.5
done
adopt_pid
say "Docker engine up in $((SECONDS - start)) s ($(server_version))"
