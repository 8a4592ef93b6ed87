#!/usr/bin/env bash
# Installs Debian's OpenLDAP server and client tools (slapd, ldap-utils) for the LDAP peer that
# Dex's LDAP connector signs users in against. The tests never use the system service: slapd.ts
# runs a private slapd (own slapd.conf and mdb database in a temp dir) on a free loopback port.
# Exits at once when slapd, slapadd, slappasswd and ldapsearch are there.
set -euo pipefail
need=(/usr/sbin/slapd /usr/sbin/slapadd /usr/sbin/slappasswd /usr/bin/ldapsearch /usr/lib/ldap/back_mdb.so)
have() { local f; for f in "${need[@]}"; do [[ -e $f ]] || return 1; done; }
if have; then
  echo "slapd $(dpkg-query -W -f='${Version}' slapd 2>/dev/null || echo '?') installed"
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# no system directory or service: the tests bring their own configuration
echo 'slapd slapd/no_configuration boolean true' | debconf-set-selections
flock /tmp/k8s-auth-apt.lock sh -c 'apt-get install -y --no-install-recommends slapd ldap-utils >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y --no-install-recommends slapd ldap-utils >/dev/null; }' ||
  { echo "slapd: apt-get install -y --no-install-recommends slapd ldap-utils failed" >&2; exit 1; }
have || { echo "slapd: installed, but one of ${need[*]} is missing" >&2; exit 1; }
echo "slapd $(dpkg-query -W -f='${Version}' slapd) installed"
