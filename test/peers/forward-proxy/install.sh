#!/usr/bin/env bash
# Installs Debian's tinyproxy binary (package tinyproxy-bin: the program alone, no system service,
# no user, no config in /etc) for the HTTPS_PROXY / NO_PROXY tests. forward-proxy.ts runs a
# private tinyproxy with its own config and log file in a temp dir on a free loopback port.
# Exits at once when /usr/bin/tinyproxy is there.
set -euo pipefail
bin=/usr/bin/tinyproxy
version() { dpkg-query -W -f='${Version}' tinyproxy-bin 2>/dev/null || echo '?'; }
if [[ -x $bin ]]; then
  echo "tinyproxy $(version) installed ($bin)"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
flock /tmp/k8s-auth-apt.lock sh -c 'apt-get install -y --no-install-recommends tinyproxy-bin >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends tinyproxy-bin >/dev/null; }' ||
  { echo "forward-proxy: refused or failed: apt-get install -y --no-install-recommends tinyproxy-bin" >&2; exit 1; }
[[ -x $bin ]] || { echo "forward-proxy: tinyproxy-bin installed, but $bin is missing" >&2; exit 1; }
echo "tinyproxy $(version) installed ($bin)"
