#!/bin/sh
# Renders alertmanager.yml (a template, next to this file) with the webhook URL from
# TTA_ALERT_WEBHOOK_URL, then runs Alertmanager on the result with the given flags.
# Alertmanager itself does not expand environment variables in its configuration.
#   entrypoint.sh [ALERTMANAGER FLAGS...]   render to /tmp/alertmanager.yml and exec alertmanager
#   entrypoint.sh --render                  print the rendered configuration (tests, debugging)
# POSIX sh + awk: runs on the official image's busybox and on Debian.
set -eu
here=$(dirname "$0")
url=${TTA_ALERT_WEBHOOK_URL:-}

case $url in
  '') ;;
  *[!A-Za-z0-9._~:/?#@!\$\&\(\)*+,\;=%-]*)
    echo "alertmanager: TTA_ALERT_WEBHOOK_URL contains characters a URL cannot (quotes, spaces, backslashes); percent-encode them" >&2
    exit 2 ;;
  http://* | https://*) ;;
  *)
    echo "alertmanager: TTA_ALERT_WEBHOOK_URL must start with http:// or https:// (got '${url%%:*}:...')" >&2
    exit 2 ;;
esac

render() {
  # index/substr, not sub(): the URL may contain & and \, which sub() would interpret.
  awk -v url="$url" '
    / # @webhook$/ {
      if (url == "") next
      sub(/ # @webhook$/, "")
    }
    {
      i = index($0, "@TTA_ALERT_WEBHOOK_URL@")
      if (i > 0) $0 = substr($0, 1, i - 1) url substr($0, i + 23)
      print
    }
  ' "$here/alertmanager.yml"
}

if [ "${1:-}" = --render ]; then
  render
  exit 0
fi
out=${TTA_ALERTMANAGER_CONFIG_OUT:-/tmp/alertmanager.yml}
# Not world-readable: the URL may carry a token (Slack and Teams webhooks do).
umask 077
render >"$out"
if [ -n "$url" ]; then
  echo "alertmanager: webhook receivers post to ${url%%\?*}" >&2
else
  echo "alertmanager: TTA_ALERT_WEBHOOK_URL not set; alerts are only shown in the UI and API" >&2
fi
exec /bin/alertmanager --config.file="$out" "$@"
