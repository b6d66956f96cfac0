#!/bin/sh
# Container entry point: render the configuration from the environment, then run coturn.
set -eu
config=${TURN_CONFIG_OUT:-/tmp/turnserver.conf}
umask 077
"$(dirname "$0")/render-config.sh" >"$config"
exec turnserver -c "$config" --log-file=stdout "$@"
