#!/usr/bin/env bash
# Builds kube-apiserver, kubectl and kube-controller-manager of the Kubernetes release that
# go.mod names (k8s.io/kubernetes vX.Y.Z, every k8s.io/* staging module pinned to v0.Y.Z; see
# gen-go-mod.sh) from the Go module proxy, into
# ${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}/kubernetes-<ver>/bin. Exits at once when
# they are there. Build log: kubernetes-<ver>/build.log. etcd is Debian's etcd-server (3.4.23 on
# bookworm), installed here when missing: kube-apiserver 1.37.2 runs on it (tested), so no etcd
# is built. Go 1.26 is enough (k8s.io/kubernetes v1.37.2 says go 1.26.0); a release whose go.mod
# names a newer Go needs `export GOTOOLCHAIN=go1.27.3` in every shell that runs this.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if ! dpkg-query -W -f='${Status}' etcd-server 2>/dev/null | grep -q 'install ok installed'; then
  echo "kubernetes: installing Debian's etcd-server"
  sudo=(); [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  "${sudo[@]}" flock /tmp/k8s-auth-apt.lock env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends etcd-server >/dev/null ||
    { "${sudo[@]}" flock /tmp/k8s-auth-apt.lock apt-get update -q >/dev/null &&
      "${sudo[@]}" flock /tmp/k8s-auth-apt.lock env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends etcd-server >/dev/null; } ||
    { echo "kubernetes: apt-get install etcd-server failed" >&2; exit 1; }
fi
cache=${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}
ver=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\).*/\1/p' "$here/go.mod")
[[ -n $ver ]] || { echo "kubernetes: no 'require k8s.io/kubernetes vX.Y.Z' line in $here/go.mod" >&2; exit 1; }
root=$cache/kubernetes-$ver
bin=$root/bin
bins=(kube-apiserver kubectl kube-controller-manager)

have_bins() {
  local b
  for b in "${bins[@]}"; do [[ -x $bin/$b ]] || return 1; done
}
if have_bins; then
  echo "kubernetes $ver cached in $bin"
  exit 0
fi
command -v go >/dev/null || { echo "kubernetes: no go command on PATH (Go 1.26 needed)" >&2; exit 1; }
mkdir -p "$bin"
exec 9>"$root/.build.lock"
flock 9
if have_bins; then
  echo "kubernetes $ver cached in $bin"
  exit 0
fi

# The version stamps kubectl and kube-apiserver report (/version, kubectl version), as the
# upstream build sets them.
minor=${ver#v1.}; minor=${minor%%.*}
pkg=k8s.io/component-base/version
ldflags="-s -w -X $pkg.gitVersion=$ver -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
ldflags+=" -X $pkg.buildDate=1970-01-01T00:00:00Z"
ldflags+=" -X k8s.io/client-go/pkg/version.gitVersion=$ver -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"

log=$root/build.log
: >"$log"
started=$(date +%s)
echo "kubernetes: building $ver (kube-apiserver, kubectl, kube-controller-manager; log: $log)"
cd "$here"
go mod download >>"$log" 2>&1 || { tail -20 "$log" >&2; echo "kubernetes: go mod download failed (refused by the module proxy?)" >&2; exit 1; }
for b in "${bins[@]}"; do
  t0=$(date +%s)
  # CGO off: static binaries, no C toolchain needed; nice: the machine is shared.
  CGO_ENABLED=0 nice -n 10 go build -trimpath -ldflags "$ldflags" -o "$bin/$b.tmp" "k8s.io/kubernetes/cmd/$b" >>"$log" 2>&1 ||
    { tail -30 "$log" >&2; echo "kubernetes: go build k8s.io/kubernetes/cmd/$b@$ver failed (log: $log)" >&2; exit 1; }
  mv "$bin/$b.tmp" "$bin/$b"
  echo "kubernetes: $b built in $(( $(date +%s) - t0 ))s" | tee -a "$log"
done
echo "kubernetes: $ver built in $(( $(date +%s) - started ))s" | tee -a "$log"
