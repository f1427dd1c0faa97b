#!/bin/sh
# Container entry point: with no arguments, or only flags, runs the agent on
# the packaged config with the RPC address the health check uses
# ($CHORUS_RPC_ADDR); any other command (`chorus members`, `sh`) runs as is.
set -e
if [ $# -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- chorus agent -config-dir=/etc/chorus -rpc-addr="${CHORUS_RPC_ADDR:-127.0.0.1:7373}" "$@"
fi
exec "$@"
