#!/bin/sh
# As in the official image: a config path means `registry serve CONFIG`; a subcommand gets `registry`.
set -e
case $1 in
  *.yaml | *.yml) set -- registry serve "$@" ;;
  serve | garbage-collect | help | -*) set -- registry "$@" ;;
esac
exec "$@"
