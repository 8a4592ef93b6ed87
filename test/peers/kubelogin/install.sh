#!/usr/bin/env bash
# Builds int128/kubelogin (`kubectl oidc-login`) at ONE exact release from the Go module proxy
# into ${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}/kubelogin-<version>/kubelogin.
# Exits at once when that binary is there. Needs go (kubelogin v1.36.3's go.mod says go 1.26.4).
#
# Why not `go install github.com/int128/kubelogin@v1.36.3`: the proxy refuses the module's
# version list (`go list -m -versions github.com/int128/kubelogin` → 403 "This module version is
# not available"), and `go install pkg@version` reads that list for deprecation notices, so it
# fails. The exact version IS served: `go mod download` fetches it, and `go build` inside the
# downloaded module uses kubelogin's own go.mod and go.sum, which is what `go install` builds.
# Flags as kubelogin's own release workflow builds linux/amd64: CGO_ENABLED=0,
# -ldflags "-X main.version=…". v1.36.3 is the newest release tag (2026-07-18); the refused list can't confirm the proxy has
# nothing newer. Build log: kubelogin-<version>/build.log.
set -euo pipefail
ver=v1.36.3
cache=${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}
root=$cache/kubelogin-$ver
bin=$root/kubelogin
if [[ -x $bin ]]; then
  echo "kubelogin $ver cached in $root"
  exit 0
fi
command -v go >/dev/null || { echo "kubelogin: no go command on PATH (Go 1.26.4+ needed)" >&2; exit 1; }
mkdir -p "$root"
exec 9>"$root/.build.lock"
flock 9
if [[ -x $bin ]]; then
  echo "kubelogin $ver cached in $root"
  exit 0
fi
log=$root/build.log
: >"$log"
started=$(date +%s)
echo "kubelogin: building $ver (log: $log)"
# run outside any module, so no go.mod of ours is involved
cd "$root"
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/int128/kubelogin@$ver" 2>>"$log" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
if [[ -z $dir || ! -f $dir/go.mod ]]; then
  tail -20 "$log" >&2
  echo "kubelogin: refused: go mod download github.com/int128/kubelogin@$ver (log: $log)" >&2
  exit 1
fi
(cd "$dir" && CGO_ENABLED=0 GOFLAGS=-buildvcs=false nice -n 10 go build -trimpath -ldflags "-X main.version=$ver" -o "$root/kubelogin.tmp" .) >>"$log" 2>&1 ||
  { tail -30 "$log" >&2; echo "kubelogin: go build github.com/int128/kubelogin@$ver failed (log: $log)" >&2; exit 1; }
mv "$root/kubelogin.tmp" "$bin"
echo "kubelogin: $ver built in $(( $(date +%s) - started ))s" | tee -a "$log"
"$bin" --version | tee -a "$log"
