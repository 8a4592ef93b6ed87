#!/usr/bin/env bash
# Installs Keycloak (org.keycloak:keycloak-quarkus-dist, the official server distribution) from
# Maven Central with Maven, unpacks it into
# ${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}/keycloak-<version>/ and pre-builds it
# (`kc.sh build`: H2 dev-file database, health endpoints) so that each test start runs
# `kc.sh start --optimized` without a re-augmentation. Exits at once when that version is there.
# Keycloak 26 supports OpenJDK 17, 21 and 25 and recommends the newest: Temurin 25 under
# /usr/lib/jvm when present (26.7.3 also started on Debian's OpenJDK 17 here), else the newest
# JDK >= 17 there. Idempotent; on a refusal it prints the command refused.
set -euo pipefail
version=${K8S_AUTH_KEYCLOAK_VERSION:-26.7.3}
cache=${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}
dest=$cache/keycloak-$version
marker=$dest/.k8s-auth-installed

if [[ -f $marker && -f $dest/template-db/keycloakdb.mv.db ]]; then
  echo "keycloak $version: already installed in $dest"
  exit 0
fi

apt_install() {
  DEBIAN_FRONTEND=noninteractive flock /tmp/k8s-auth-apt.lock apt-get install -y --no-install-recommends "$@" >/dev/null
}
command -v mvn >/dev/null || apt_install maven
command -v unzip >/dev/null || apt_install unzip

# the newest JDK under /usr/lib/jvm of a major version Keycloak 26 supports (17, 21, 25)
java_home=''
best=0
for candidate in /usr/lib/jvm/*; do
  [[ -x $candidate/bin/java && ! -L $candidate ]] || continue
  major=$("$candidate/bin/java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p')
  if [[ -n $major && $major -ge 17 && $major -gt $best ]]; then java_home=$candidate; best=$major; fi
done
if [[ -z $java_home ]]; then
  apt_install openjdk-17-jre-headless
  for candidate in /usr/lib/jvm/*17*; do [[ -x $candidate/bin/java ]] && java_home=$candidate && break; done
fi
if [[ -z $java_home ]]; then
  echo "keycloak: no JDK 17 or newer under /usr/lib/jvm (Keycloak $version needs one)" >&2
  exit 1
fi

mkdir -p "$cache"
if [[ ! -f $dest/.k8s-auth-built ]]; then
stage=$(mktemp -d "$cache/.keycloak-$version.XXXXXX")
trap 'rm -rf "$stage"' EXIT
artifact=org.keycloak:keycloak-quarkus-dist:$version:zip
if ! mvn -B -q dependency:copy -Dartifact="$artifact" -DoutputDirectory="$stage/zip" >"$stage/mvn.log" 2>&1; then
  echo "keycloak: refused: mvn -B -q dependency:copy -Dartifact=$artifact" >&2
  tail -20 "$stage/mvn.log" >&2
  exit 1
fi
unzip -q "$stage/zip/keycloak-quarkus-dist-$version.zip" -d "$stage"
home=$stage/keycloak-$version
# build-time options; everything else (ports, certificates, hostname) is given at start
JAVA_HOME=$java_home "$home/bin/kc.sh" build --db=dev-file --health-enabled=true >"$stage/build.log" 2>&1 || {
  echo "keycloak: kc.sh build failed" >&2
  tail -30 "$stage/build.log" >&2
  exit 1
}
echo "$java_home" >"$home/.k8s-auth-java-home"
touch "$home/.k8s-auth-built"
rm -rf "$dest"
mv "$home" "$dest"
rm -rf "$stage"
trap - EXIT
fi

# A template database: a fresh H2 dev-file database costs Keycloak a Liquibase schema creation
# and the master realm (tens of seconds, minutes on a loaded 2-core machine) at every start.
# Keycloak runs once here on loopback HTTP, creates both (and a bootstrap admin whose password
# is kept beside it), and stops; each test start copies template-db/ into its own home.
if [[ ! -f $dest/template-db/keycloakdb.mv.db ]]; then
  rm -rf "$dest/data" "$dest/template-db"
  free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
  port=$(free_port)
  mport=$(free_port)
  admin_password=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 24)
  log=$dest/template-db.log
  KC_BOOTSTRAP_ADMIN_USERNAME=admin KC_BOOTSTRAP_ADMIN_PASSWORD=$admin_password JAVA_HOME=$java_home \
    JAVA_OPTS_APPEND='-XX:TieredStopAtLevel=1' setsid "$dest/bin/kc.sh" start --optimized --cache=local \
    --http-enabled=true --http-host=127.0.0.1 --http-port="$port" --hostname-strict=false \
    --http-management-port="$mport" >"$log" 2>&1 &
  kc_pid=$!
  ready=''
  for _ in $(seq 1 600); do
    if ! kill -0 "$kc_pid" 2>/dev/null; then break; fi
    if curl -fsS "http://127.0.0.1:$mport/health/ready" >/dev/null 2>&1 &&
      curl -fsS "http://127.0.0.1:$port/realms/master/.well-known/openid-configuration" >/dev/null 2>&1; then
      ready=1
      break
    fi
    sleep 1
  done
  kill -TERM -- "-$kc_pid" 2>/dev/null || true
  wait "$kc_pid" 2>/dev/null || true
  if [[ -z $ready ]]; then
    echo "keycloak: the template start did not become ready" >&2
    tail -30 "$log" >&2
    exit 1
  fi
  mv "$dest/data/h2" "$dest/template-db"
  rm -rf "$dest/data"
  printf '%s\n' "$admin_password" >"$dest/template-db/admin-password"
  chmod 600 "$dest/template-db/admin-password"
fi
touch "$marker"
echo "keycloak $version: installed in $dest (JAVA_HOME=$java_home)"
