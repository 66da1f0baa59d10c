#!/usr/bin/env bash
# Build the Istio conformance harness (pilot's config generator + simulator, see harness/) and
# istioctl from the pinned wrapper module beside this script, into a cache outside the repo
# keyed by the hash of go.sum and the harness sources. Idempotent: a no-op when both exist.
#
#   bash testenv/istio/build.sh            # build if missing, print the bin dir
#   bash testenv/istio/build.sh --print    # only print the bin dir (exit 1 if not built)
#
# Env: EGRESS_ISTIO_CACHE (default $HOME/.cache/egress-console/istio), GOFLAGS, GOMODCACHE.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"
KEY="$(cat go.mod go.sum harness_test.go harness/*.go | sha256sum | cut -c1-16)"
CACHE="${EGRESS_ISTIO_CACHE:-$HOME/.cache/egress-console/istio}"
BIN="$CACHE/$KEY"

built() { [ -x "$BIN/istio-harness" ] && [ -x "$BIN/istioctl" ]; }
if [ "${1:-}" = "--print" ]; then
  built && { echo "$BIN"; exit 0; }
  exit 1
fi
if built; then
  echo "$BIN"
  exit 0
fi

# NB: Go's tarball install lives outside the default PATH of non-login shells (CI).
command -v go >/dev/null || [ ! -x /usr/local/go/bin/go ] || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "istio/build.sh: 'go' not found on PATH (needs Go >= 1.25)" >&2; exit 2; }
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--mod=readonly}"  # go.sum is the lock file
NPROC="$(nproc 2>/dev/null || echo 2)"
start=$(date +%s)
mkdir -p "$BIN"
echo "building the Istio harness (once: ~20 min of compiling on 2 cores from a cold Go cache) ..." >&2
go test -c -p "$NPROC" -ldflags "-s -w" -o "$BIN/istio-harness.tmp" . >&2
mv -f "$BIN/istio-harness.tmp" "$BIN/istio-harness"
echo "building istioctl ..." >&2
go build -p "$NPROC" -ldflags "-s -w" -o "$BIN/istioctl.tmp" istio.io/istio/istioctl/cmd/istioctl >&2
mv -f "$BIN/istioctl.tmp" "$BIN/istioctl"
echo "istio harness + istioctl built in $(( $(date +%s) - start ))s" >&2
echo "$BIN"
