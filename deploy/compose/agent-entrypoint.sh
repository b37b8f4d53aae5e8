#!/bin/sh
# Agent-side start: run `sluice bridge` (127.0.0.1:3128 -> the proxy's unix socket) in the background,
# wait until it accepts, then run the agent's own command. The agent has no other way out.
set -eu
socket="${SLUICE_BRIDGE_SOCKET:-/run/sluice/proxy.sock}"
node /app/bin/sluice.js bridge --listen 127.0.0.1:3128 --socket "$socket" &
bridge=$!
tries=0
until node -e "require('node:net').connect(3128, '127.0.0.1').on('connect', () => process.exit(0)).on('error', () => process.exit(1))"; do
  tries=$((tries + 1))
  if [ "$tries" -ge 50 ]; then echo "sluice bridge did not start" >&2; kill "$bridge" 2>/dev/null || true; exit 1; fi
  sleep 0.2
done
exec "$@"
