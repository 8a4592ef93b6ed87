# shellcheck shell=bash
# Helpers for a private apt configuration under a cache directory, so the scripts can read
# other Debian suites (and source packages) without ever editing /etc/apt.
# Sourced by scripts/fetch-kubectl.sh and test/cluster/build-control-plane.sh.

# Prints the Debian archive URI this machine already uses. Read at run time from the
# machine's apt sources so no mirror host is ever written into the repository.
# K8S_AUTH_TEST_DEBIAN_MIRROR overrides it.
debian_mirror_uri() {
  if [[ -n ${K8S_AUTH_TEST_DEBIAN_MIRROR-} ]]; then
    echo "$K8S_AUTH_TEST_DEBIAN_MIRROR"
    return 0
  fi
  local uri=''
  if [[ -r /etc/apt/sources.list.d/debian.sources ]]; then
    # deb822: the first "deb" stanza whose Suites has a plain suite name (no -security,
    # -updates) is the main archive.
    uri=$(awk '
      BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/)  { types = $i }
          if ($i ~ /^URIs:/)   { uris = $i }
          if ($i ~ /^Suites:/) { suites = $i }
        }
        if (types !~ /(^|[ \t])deb([ \t]|$)/) next
        n = split(suites, s, /[ \t]+/)
        plain = 0
        for (j = 2; j <= n; j++) if (s[j] != "" && s[j] !~ /-/) plain = 1
        if (!plain) next
        split(uris, u, /[ \t]+/)
        if (u[2] != "") { print u[2]; exit }
      }' /etc/apt/sources.list.d/debian.sources)
  fi
  if [[ -z $uri && -r /etc/apt/sources.list ]]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {
        for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit }
      }' /etc/apt/sources.list)
  fi
  if [[ -z $uri ]]; then
    echo "cannot find the Debian archive URI in /etc/apt (set K8S_AUTH_TEST_DEBIAN_MIRROR)" >&2
    return 1
  fi
  echo "${uri%/}"
}

# private_apt_init DIR LINE...   writes DIR/sources.list from the given lines and sets the
# global array PRIVATE_APT_OPTS for apt-get / apt-cache.
private_apt_init() {
  local dir=$1
  shift
  mkdir -p "$dir/lists/partial" "$dir/cache/archives/partial"
  printf '%s\n' "$@" >"$dir/sources.list.new"
  if ! cmp -s "$dir/sources.list.new" "$dir/sources.list" 2>/dev/null; then
    mv "$dir/sources.list.new" "$dir/sources.list"
    rm -f "$dir/lists/"*_* # sources changed: force a fresh update
  else
    rm -f "$dir/sources.list.new"
  fi
  PRIVATE_APT_OPTS=(
    -o "Dir::Etc::sourcelist=$dir/sources.list"
    -o "Dir::Etc::sourceparts=-"
    -o "Dir::State::Lists=$dir/lists"
    -o "Dir::Cache=$dir/cache"
    -o "APT::Sandbox::User=root"
  )
}

# private_apt_update DIR   runs apt-get update for the private config unless its lists are
# younger than a day.
private_apt_update() {
  local dir=$1
  if [[ -n $(find "$dir/lists" -maxdepth 1 -name '*Release' -mmin -1440 2>/dev/null | head -1) ]]; then
    return 0
  fi
  apt-get -q "${PRIVATE_APT_OPTS[@]}" update >"$dir/update.log" 2>&1 || {
    tail -20 "$dir/update.log" >&2
    echo "apt-get update (private config in $dir) failed" >&2
    return 1
  }
}

# ensure_debian_packages PKG...   installs whatever is missing with the machine's apt
# (running apt-get update once when the install cannot find a package).
ensure_debian_packages() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [[ ${#missing[@]} -eq 0 ]] && return 0
  local sudo=()
  [[ $(id -u) -ne 0 ]] && sudo=(sudo)
  echo "installing: ${missing[*]}" >&2
  if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null; then
    "${sudo[@]}" apt-get update -q >/dev/null
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  fi
}
