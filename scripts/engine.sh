#!/usr/bin/env bash
# Provisions a Docker engine for the e2e suite and CI, idempotently.
#   scripts/engine.sh         ensure `docker info` works (install docker.io + start dockerd if needed)
#   scripts/engine.sh stop    stop the dockerd this script started (no-op otherwise)
# dockerd is started fully detached (own session, stdin from /dev/null, output to a log file): a daemon
# that inherits CI's output pipe keeps the run from ever finishing.
set -euo pipefail

log=${TTA_DOCKERD_LOG:-/var/log/tta-dockerd.log}
pidfile=${TTA_DOCKERD_PIDFILE:-/run/tta-dockerd.pid}
wait_s=${TTA_DOCKERD_WAIT:-60}

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

case "${1:-start}" in
  stop) stop_engine; exit 0 ;;
  start) ;;
  *) die "usage: $0 [start|stop]" ;;
esac

if engine_up; then
  say "Docker engine reachable ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
  exit 0
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

if [ -s "$pidfile" ] && [ "$(cat "/proc/$(cat "$pidfile")/comm" 2>/dev/null)" = dockerd ]; then
  say "dockerd already started (pid $(cat "$pidfile")); waiting for it"
else
  mkdir -p "$(dirname "$log")" "$(dirname "$pidfile")"
  say "starting dockerd (log: $log)"
  # setsid: own session, so CI's process group and terminal signals never reach it.
  setsid dockerd --pidfile /var/run/docker.pid >>"$log" 2>&1 </dev/null &
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
say "Docker engine up in $((SECONDS - start)) s ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
