#!/bin/sh
# Ignores its arguments (the real /run.sh passes them to grafana-server); keeps a file in the data dir
# so the volume is not empty, then serves /api/health.
mkdir -p "$GF_PATHS_DATA" 2>/dev/null && touch "$GF_PATHS_DATA/grafana.db" 2>/dev/null
echo "logger=http.server t=$(date -u +%Y-%m-%dT%H:%M:%SZ) level=info msg=\"HTTP Server Listen\" address=[::]:${GF_SERVER_HTTP_PORT:-3000}"
exec stub-serve /usr/share/grafana/public "${GF_SERVER_HTTP_PORT:-3000}"
