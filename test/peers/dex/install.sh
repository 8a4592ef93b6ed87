#!/usr/bin/env bash
# Builds Dex (github.com/dexidp/dex/cmd/dex) at the pseudo-version go.mod pins, and dexapi (this
# module's main.go, a gRPC API client), from the Go module proxy into
# ${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}/dex-<pseudo-version>/{dex,dexapi}.
# Exits at once when both are there. Needs go (1.25+) and a C compiler (Dex's sqlite3 storage
# is cgo). Build log: dex-<pseudo-version>/build.log.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache=${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}
ver=$(sed -n 's/^[[:space:]]*github.com\/dexidp\/dex \(v0\.0\.0-[0-9]*-[0-9a-f]*\).*/\1/p' "$here/go.mod")
[[ -n $ver ]] || { echo "dex: no 'github.com/dexidp/dex v0.0.0-…' pseudo-version in $here/go.mod" >&2; exit 1; }
root=$cache/dex-$ver
have() { [[ -x $root/dex && -x $root/dexapi ]]; }
if have; then
  echo "dex $ver cached in $root"
  exit 0
fi
command -v go >/dev/null || { echo "dex: no go command on PATH (Go 1.25+ needed)" >&2; exit 1; }
if ! command -v cc >/dev/null; then
  flock /tmp/k8s-auth-apt.lock env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends gcc libc6-dev >/dev/null
fi
mkdir -p "$root"
exec 9>"$root/.build.lock"
flock 9
if have; then
  echo "dex $ver cached in $root"
  exit 0
fi
log=$root/build.log
: >"$log"
started=$(date +%s)
echo "dex: building $ver (log: $log)"
cd "$here"
go mod download >>"$log" 2>&1 || { tail -20 "$log" >&2; echo "dex: go mod download failed (refused by the module proxy?)" >&2; exit 1; }
nice -n 10 go build -trimpath -ldflags "-w -X main.version=$ver" -o "$root/dex.tmp" github.com/dexidp/dex/cmd/dex >>"$log" 2>&1 ||
  { tail -30 "$log" >&2; echo "dex: go build github.com/dexidp/dex/cmd/dex@$ver failed (log: $log)" >&2; exit 1; }
nice -n 10 go build -trimpath -o "$root/dexapi.tmp" . >>"$log" 2>&1 ||
  { tail -30 "$log" >&2; echo "dex: go build dexapi failed (log: $log)" >&2; exit 1; }
mv "$root/dex.tmp" "$root/dex"
mv "$root/dexapi.tmp" "$root/dexapi"
echo "dex: $ver built in $(( $(date +%s) - started ))s" | tee -a "$log"
"$root/dex" version | tee -a "$log"
