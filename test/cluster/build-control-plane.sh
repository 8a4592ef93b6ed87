#!/usr/bin/env bash
# Builds kube-apiserver, kube-controller-manager and kubectl v1.20 from Debian bookworm's
# `kubernetes` source package (the upstream tree with vendor/), offline with Debian's Go 1.19,
# and caches the binaries under ${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}/v1.20.2/bin/.
# kubectl is built too because Debian's packaged kubectl 1.20 keeps the crashing reflect2 1.0.1
# and segfaults when it writes refreshed OIDC tokens back to the kubeconfig; the tests compare.
# Exits at once when they are already cached. The build log goes to a file.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=private-apt.sh
source "$here/private-apt.sh"

cache=${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}
root=$cache/v1.20.2
bin=$root/bin
bins=(kube-apiserver kube-controller-manager kubectl)

have_bins() {
  local b
  for b in "${bins[@]}"; do [[ -x $bin/$b ]] || return 1; done
}
if have_bins; then
  echo "control plane binaries cached in $bin"
  exit 0
fi

mkdir -p "$root"
# one build at a time (a second caller waits, then finds the cache filled)
exec 9>"$root/.build.lock"
flock 9
if have_bins; then
  echo "control plane binaries cached in $bin"
  exit 0
fi

ensure_debian_packages golang-1.19-go rsync etcd-server golang-github-modern-go-reflect2-dev dpkg-dev openssl

go_root=/usr/lib/go-1.19
reflect2_src=/usr/share/gocode/src/github.com/modern-go/reflect2
[[ -x $go_root/bin/go ]] || { echo "missing $go_root/bin/go" >&2; exit 1; }
[[ -f $reflect2_src/reflect2.go ]] || { echo "missing $reflect2_src" >&2; exit 1; }

started=$(date +%s)
log=$root/build.log
: >"$log"
echo "building kube-apiserver, kube-controller-manager and kubectl (log: $log)"

mirror=$(debian_mirror_uri)
apt_dir=$cache/apt-bookworm-src
private_apt_init "$apt_dir" \
  "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm main"
private_apt_update "$apt_dir"

work=$(mktemp -d "$root/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  apt-get -q "${PRIVATE_APT_OPTS[@]}" source kubernetes
) >>"$log" 2>&1 || { tail -20 "$log" >&2; echo "apt-get source kubernetes failed" >&2; exit 1; }

src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -1)
[[ -n $src && -d $src/vendor ]] || { echo "no kubernetes source tree with vendor/ in $work" >&2; exit 1; }
grep -q "tag: v1\.20\." "$src/hack/lib/version.sh" ||
  echo "warning: source tree does not look like v1.20 ($src)" >>"$log"

# The vendored reflect2 v1.0.1 crashes under Go >= 1.18; Debian ships the fixed 1.0.2 source.
rm -rf "$src/vendor/github.com/modern-go/reflect2"
cp -r "$reflect2_src" "$src/vendor/github.com/modern-go/reflect2"

(
  cd "$src"
  export PATH="$go_root/bin:$PATH"
  export GOFLAGS=-mod=vendor GOPROXY=off CGO_ENABLED=0
  make WHAT="cmd/kube-apiserver cmd/kube-controller-manager cmd/kubectl"
) >>"$log" 2>&1 || { tail -30 "$log" >&2; echo "build failed (full log: $log)" >&2; exit 1; }

mkdir -p "$bin"
for b in "${bins[@]}"; do
  install -m 0755 "$src/_output/bin/$b" "$bin/$b.new"
  mv "$bin/$b.new" "$bin/$b"
done
"$bin/kube-apiserver" --version >>"$log" 2>&1
echo "built in $(($(date +%s) - started)) s: $(ls "$bin" | tr '\n' ' ')"
echo "version: $("$bin/kube-apiserver" --version)"
