#!/bin/sh
# Installs what bench/run.ts compares against and drives load with (Debian 12). Services are not started:
# the bench runs each proxy itself, on loopback, with its own config, and stops it by PID.
#   nginx-light    upstream for the static bodies (TLS)
#   squid-openssl  squid with ssl-bump (also used for the plain squid tunnel target)
#   tinyproxy      tunnel-only proxy
#   mitmproxy      mitmdump (interception)
#   hey            Go load generator with proxy support (-x); without it the undici client is used
#   openssl        test CA and certificates, `openssl speed` reference
#   util-linux     unshare (private /etc/hosts for the proxies that resolve through the system)
set -eu
export DEBIAN_FRONTEND=noninteractive
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# A policy-rc.d that refuses service starts keeps apt from launching squid/nginx/tinyproxy daemons.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod 755 /usr/sbin/policy-rc.d
  REMOVE_POLICY=1
fi
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends nginx-light squid-openssl tinyproxy mitmproxy hey openssl util-linux
if [ "${REMOVE_POLICY:-0}" = 1 ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi
