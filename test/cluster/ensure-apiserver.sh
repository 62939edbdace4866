#!/usr/bin/env bash
# Makes sure etcd and a kube-apiserver binary are available on this machine.
# Installs Debian packages when missing and builds kube-apiserver from Debian's
# `kubernetes` source package once, caching it under ~/.cache/refsync/ keyed by version.
# Prints the path of the kube-apiserver binary on its last line (progress goes to stderr).
set -euo pipefail

K8S_VERSION="${REFSYNC_K8S_VERSION:-1.20.2}"
# Bump when the build recipe changes, so that machines rebuild instead of reusing a stale binary.
RECIPE=3
CACHE_DIR="${REFSYNC_CACHE_DIR:-$HOME/.cache/refsync}"
BIN="$CACHE_DIR/kube-apiserver-v$K8S_VERSION-$RECIPE"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { echo "[test-cluster] $*" >&2; }
as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

"$here/apt-install.sh" etcd-server openssl

if [ -x "$BIN" ]; then
  say "using cached kube-apiserver v$K8S_VERSION ($BIN)"
  echo "$BIN"
  exit 0
fi

# One build at a time per machine: a second caller waits, then finds the cached binary.
mkdir -p "$CACHE_DIR"
exec 9>"$CACHE_DIR/.build.lock"
if ! flock -n 9; then
  say "another process is building kube-apiserver; waiting for it"
  flock 9
fi
if [ -x "$BIN" ]; then
  say "using cached kube-apiserver v$K8S_VERSION ($BIN)"
  echo "$BIN"
  exit 0
fi

say "no cached kube-apiserver v$K8S_VERSION: building it from Debian's kubernetes source package"
say "(about 4-5 minutes on 2 cores, once per machine; cached at $BIN)"

# `apt-get source` needs a deb-src entry. Derive one from the Debian entries already configured on
# this machine (whatever mirror they name), so that no host name is ever written into the repo.
if ! grep -rqsE '^[[:space:]]*(Types:.*deb-src|deb-src[[:space:]])' /etc/apt/sources.list /etc/apt/sources.list.d/; then
  added=""
  tmp=$(mktemp)
  shopt -s nullglob
  for f in /etc/apt/sources.list.d/*.sources; do
    # deb822 stanzas of Debian's archive: same URIs and suites, with Types: deb-src.
    awk 'BEGIN { RS = ""; ORS = "\n\n" }
         /Types:[^\n]*deb/ && (/debian-archive-keyring/ || /URIs:[^\n]*\/debian/) {
           sub(/Types:[^\n]*/, "Types: deb-src"); print }' "$f" >>"$tmp"
  done
  if [ -s "$tmp" ]; then
    as_root cp "$tmp" /etc/apt/sources.list.d/refsync-deb-src.sources
    added=/etc/apt/sources.list.d/refsync-deb-src.sources
  fi
  # One-line style entries.
  : >"$tmp"
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    grep -E '^[[:space:]]*deb[[:space:]].*/debian' "$f" | sed -E 's/^([[:space:]]*)deb[[:space:]]/\1deb-src /' >>"$tmp" || true
  done
  if [ -s "$tmp" ]; then
    as_root cp "$tmp" /etc/apt/sources.list.d/refsync-deb-src.list
    added="$added /etc/apt/sources.list.d/refsync-deb-src.list"
  fi
  rm -f "$tmp"
  [ -n "$added" ] || { say "no Debian entry in /etc/apt to derive a deb-src entry from"; exit 1; }
  say "added deb-src entries derived from the configured Debian sources: $added"
fi
"$here/apt-install.sh" --update golang-1.19-go golang-github-modern-go-reflect2-dev dpkg-dev rsync jq

work=$(mktemp -d "$CACHE_DIR/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"
say "fetching Debian's kubernetes source package"
apt-get source -q kubernetes >&2
srcdir=$(find . -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
[ -n "$srcdir" ] || { say "apt-get source kubernetes produced no source tree"; exit 1; }
srcdir=$(cd "$srcdir" && pwd)

# Kubernetes 1.20 vendors reflect2 1.0.1, which reads Go's map iterator in a layout that changed in
# Go 1.18: built with Go 1.19, the apiserver segfaults encoding maps (e.g. on every custom resource).
# Debian's reflect2 1.0.2 fixes that; use it in place of the vendored copy.
rsync -a --delete --exclude=BUILD /usr/share/gocode/src/github.com/modern-go/reflect2/ "$srcdir/vendor/github.com/modern-go/reflect2/"

# Kubernetes 1.20's OpenAPI type check (go-openapi/validate type.go) treats a value equal to its type's
# zero value as null by comparing two reflect.Values with DeepEqual. Built with Go 1.15, as the released
# v1.20 binaries are, that never matched; since Go 1.16 reflect.Zero shares one zero buffer, so with
# Go 1.19 every JSON "" matches and a custom resource's `field: ""` is refused as
# `must be of type string: "null"`. Kubernetes 1.21 dropped the check (kube-openapi #230); so do we.
zero_check='if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {'
zero_files=$(grep -rlF --include=type.go "$zero_check" "$srcdir/vendor" "$srcdir/staging" || true)
[ -n "$zero_files" ] || { say "the OpenAPI zero-value check to patch was not found"; exit 1; }
for f in $zero_files; do
  perl -pi -e 's/\Q'"$zero_check"'\E/if data == nil {/' "$f"
  say "patched the zero-value-as-null check in ${f#"$srcdir/"}"
done

# As Debian's debian/rules does: a GOPATH link, the vendored modules, no cgo.
mkdir -p .go/src/k8s.io
ln -s "$srcdir" .go/src/k8s.io/kubernetes
export GOPATH="$work/.go" GOCACHE="$work/.gocache" GO111MODULE=off GOFLAGS=-mod=vendor
export PATH="/usr/lib/go-1.19/bin:$PATH" CGO_ENABLED=0
export KUBE_GIT_VERSION="v$K8S_VERSION" KUBE_GIT_TREE_STATE=clean
cd .go/src/k8s.io/kubernetes
say "building kube-apiserver v$K8S_VERSION (make WHAT=cmd/kube-apiserver)"
start=$(date +%s)
make WHAT=cmd/kube-apiserver >&2
built=$(find _output -type f -name kube-apiserver -perm -u+x | head -n 1)
[ -n "$built" ] || { say "the build produced no kube-apiserver binary"; exit 1; }
cp "$built" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
say "built kube-apiserver in $(($(date +%s) - start))s, cached at $BIN"
echo "$BIN"
