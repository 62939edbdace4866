#!/usr/bin/env bash
# Installs the named Debian packages that are not installed yet (apt-get, as root or via sudo).
#   apt-install.sh [--update] PACKAGE...
# --update refreshes the package lists even when nothing is missing (after adding a source).
set -euo pipefail

say() { echo "[test-cluster] $*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

update=""
if [ "${1:-}" = "--update" ]; then
  update=1
  shift
fi

missing=()
for pkg in "$@"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done

if [ -n "$update" ] || [ ${#missing[@]} -gt 0 ]; then
  say "apt-get update"
  as_root apt-get update -qq >&2
fi
[ ${#missing[@]} -eq 0 ] && exit 0
say "installing Debian packages: ${missing[*]}"
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
