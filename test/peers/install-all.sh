#!/usr/bin/env bash
# Installs every real test peer (each test/peers/<name>/install.sh, in dependency order), caching
# each by version under ${K8S_AUTH_TEST_CACHE:-$HOME/.cache/k8s-auth-test}, and prints each
# step's time. A peer whose install fails stops the run with that peer's one-line reason.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
order=(openbao slapd dex keycloak kubernetes kubelogin forward-proxy)
started=$(date +%s)
for name in "${order[@]}"; do
  script=$here/$name/install.sh
  [[ -f $script ]] || continue
  t0=$(date +%s)
  printf -- '-- peer %s\n' "$name"
  bash "$script"
  printf -- '-- peer %s: %ss (total %ss)\n' "$name" "$(( $(date +%s) - t0 ))" "$(( $(date +%s) - started ))"
done
