#!/usr/bin/env bash
# Unpacks Debian's kubectl binaries for the tests (never installs them, never touches the
# machine's own kubectl):
#   .tools/kubectl-1.20/  bookworm's kubernetes-client (1.20)  -> .tools/bin/kubectl-1.20
#   .tools/kubectl-1.32/  trixie's kubectl (1.32)              -> .tools/bin/kubectl-1.32
# The .debs are cached in ${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}/debs/.
# Idempotent: when both binaries are unpacked and run, it exits without any network call.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../test/cluster/private-apt.sh
source "$repo/test/cluster/private-apt.sh"

cache=${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}
debs=$cache/debs
tools=$repo/.tools
mkdir -p "$debs" "$tools/bin"

# name  package  suite  version prefix  binary path inside the package
targets=(
  "kubectl-1.20 kubernetes-client bookworm 1.20 usr/bin/kubectl"
  "kubectl-1.32 kubectl trixie 1.32 usr/bin/kubectl"
)

runs() { "$1" version --client >/dev/null 2>&1; }

apt_ready=0
ensure_apt() {
  [[ $apt_ready -eq 1 ]] && return 0
  local mirror key=/usr/share/keyrings/debian-archive-keyring.gpg arch
  mirror=$(debian_mirror_uri)
  arch=$(dpkg --print-architecture)
  private_apt_init "$cache/apt-kubectl" \
    "deb [arch=$arch signed-by=$key] $mirror bookworm main" \
    "deb [arch=$arch signed-by=$key] $mirror trixie main"
  private_apt_update "$cache/apt-kubectl"
  apt_ready=1
}

exec 9>"$debs/.fetch.lock"
flock 9

for t in "${targets[@]}"; do
  read -r name pkg suite ver path <<<"$t"
  dest=$tools/$name
  link=$tools/bin/$name
  if [[ -x $dest/$path ]] && runs "$dest/$path"; then
    ln -sfn "../$name/$path" "$link"
    continue
  fi
  deb=$(find "$debs" -maxdepth 1 -name "${pkg}_${ver}*.deb" | sort -V | tail -1)
  if [[ -z $deb ]]; then
    ensure_apt
    (cd "$debs" && apt-get -q "${PRIVATE_APT_OPTS[@]}" download "$pkg/$suite" >"$debs/download-$pkg.log" 2>&1) || {
      tail -5 "$debs/download-$pkg.log" >&2
      echo "apt-get download $pkg/$suite failed" >&2
      exit 1
    }
    deb=$(find "$debs" -maxdepth 1 -name "${pkg}_${ver}*.deb" | sort -V | tail -1)
    [[ -n $deb ]] || { echo "$pkg/$suite is not version $ver" >&2; exit 1; }
  fi
  rm -rf "$dest.new"
  mkdir -p "$dest.new"
  dpkg-deb -x "$deb" "$dest.new"
  basename "$deb" >"$dest.new/.deb"
  rm -rf "$dest"
  mv "$dest.new" "$dest"
  # read the whole output first: with pipefail, `grep -q` closing the pipe early would make
  # kubectl 1.32 (two lines) die of SIGPIPE and fail the check at random
  reported=$("$dest/$path" version --client 2>/dev/null || true)
  if ! runs "$dest/$path" || [[ $reported != *"v$ver."* ]]; then
    echo "$dest/$path does not run as kubectl $ver" >&2
    exit 1
  fi
  ln -sfn "../$name/$path" "$link"
  echo "unpacked $(basename "$deb") -> .tools/$name"
done

for t in "${targets[@]}"; do
  read -r name _ <<<"$t"
  printf '%s: %s\n' "$name" "$("$tools/bin/$name" version --client 2>/dev/null | head -1)"
done
