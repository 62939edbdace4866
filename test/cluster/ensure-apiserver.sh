#!/usr/bin/env bash
# Makes sure etcd and a kube-apiserver binary are available on this machine.
# Installs Debian packages when missing and builds kube-apiserver from Debian's
# `kubernetes` source package once, caching it under ~/.cache/refsync/.
# Prints the path of the kube-apiserver binary on its last line.
set -euo pipefail

K8S_VERSION="${REFSYNC_K8S_VERSION:-1.20.2}"
CACHE_DIR="${REFSYNC_CACHE_DIR:-$HOME/.cache/refsync}"
BIN="$CACHE_DIR/kube-apiserver-v$K8S_VERSION"

say() { echo "[test-cluster] $*" >&2; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "$apt_updated" ]; then
    say "apt-get update"
    as_root apt-get update -qq >&2
    apt_updated=1
  fi
  say "installing Debian packages: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

apt_install etcd-server rsync jq

if [ -x "$BIN" ]; then
  say "using cached kube-apiserver v$K8S_VERSION ($BIN)"
  echo "$BIN"
  exit 0
fi

apt_install golang-1.19-go dpkg-dev

# Source packages need a deb-src entry; derive it from the machine's own
# Debian source list instead of naming any mirror here.
if ! apt-get indextargets 2>/dev/null | grep -q 'Identifier: Sources'; then
  src_list=/etc/apt/sources.list.d/refsync-deb-src.sources
  say "adding a deb-src entry ($src_list) derived from the configured Debian sources"
  tmp=$(mktemp)
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    [ "$f" = "$src_list" ] && continue
    sed -e 's/^Types:.*/Types: deb-src/' "$f" >>"$tmp"
    echo >>"$tmp"
  done
  if [ -f /etc/apt/sources.list ]; then
    grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' >"${tmp}.list" || true
    [ -s "${tmp}.list" ] && as_root cp "${tmp}.list" /etc/apt/sources.list.d/refsync-deb-src.list
  fi
  as_root cp "$tmp" "$src_list"
  rm -f "$tmp" "${tmp}.list"
  apt_updated=""
fi
if [ -z "$apt_updated" ]; then
  say "apt-get update"
  as_root apt-get update -qq >&2
  apt_updated=1
fi

mkdir -p "$CACHE_DIR"
work=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
say "fetching Debian's kubernetes source package"
apt-get source -qq kubernetes >&2 2>/dev/null || apt-get source kubernetes >&2
srcdir=$(find . -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
[ -n "$srcdir" ] || { say "apt-get source kubernetes produced no source tree"; exit 1; }
srcdir=$(cd "$srcdir" && pwd)

mkdir -p .go/src/k8s.io
ln -s "$srcdir" .go/src/k8s.io/kubernetes
export GOPATH="$work/.go" GOCACHE="$work/.gocache" GO111MODULE=off GOFLAGS=-mod=vendor
export PATH="/usr/lib/go-1.19/bin:$PATH" CGO_ENABLED=0
export KUBE_GIT_VERSION="v$K8S_VERSION" KUBE_GIT_TREE_STATE=clean
cd .go/src/k8s.io/kubernetes
say "building kube-apiserver v$K8S_VERSION from source (about 5 minutes on 2 cores, once per machine)"
start=$(date +%s)
make WHAT=cmd/kube-apiserver >&2
built=$(find _output -type f -name kube-apiserver -perm -u+x | head -n 1)
[ -n "$built" ] || { say "the build produced no kube-apiserver binary"; exit 1; }
cp "$built" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
say "built kube-apiserver in $(( $(date +%s) - start ))s, cached at $BIN"
echo "$BIN"
