#!/bin/sh
# Like the official entrypoint: `neo4j` (the default) starts the server; anything else is executed.
case ${1:-neo4j} in
  neo4j | console) exec neo4j console ;;
esac
exec "$@"
