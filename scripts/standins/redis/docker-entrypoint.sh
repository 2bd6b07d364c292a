#!/bin/sh
# Same contract as the official redis image's entrypoint: options alone imply redis-server, and the
# server drops root to the redis user after taking ownership of /data.
set -e
case $1 in
  -*|*.conf) set -- redis-server "$@" ;;
esac
if [ "$1" = redis-server ]; then
  # The official image builds redis with protected mode off; Debian's default is on, which refuses
  # password-less connections from other containers.
  case " $* " in
    *protected-mode*) ;;
    *) set -- "$@" --protected-mode no ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' + 2>/dev/null || true
    exec gosu redis "$0" "$@"
  fi
fi
exec "$@"
