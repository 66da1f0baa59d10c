#!/usr/bin/env bash
# Build a real kube-apiserver and etcd (and kubectl, for bench/kubectl_vs_egress.py) from the pinned
# wrapper module (go.mod/go.sum beside this script) into a cache outside the repo, and fetch Istio's
# CRDs from the pinned istio.io/api module into the same cache (istio_crds.py), and for the deployment
# tests the Compose specification's schema (compose_schema.py) and kustomize (kustomize.py).
# Idempotent: a binary that is already there and reports the right version is not rebuilt; the CRD
# and schema files are fetched only when missing.
#
#   bash testenv/build.sh            # build if missing, print the bin dir
#   bash testenv/build.sh --print    # only print the bin dir (exit 1 if not built)
#
# Env: EGRESS_TESTENV_CACHE (default $HOME/.cache/egress-console/testenv), GOFLAGS, GOMODCACHE, PYTHON.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$HERE"

K8S_VERSION="$(awk '$1=="k8s.io/kubernetes" && $2 ~ /^v/ {print $2; exit}' go.mod)"
ETCD_VERSION="$(awk '$1=="go.etcd.io/etcd/server/v3" && $2 ~ /^v/ {print $2; exit}' go.mod)"
MINOR="$(echo "$K8S_VERSION" | cut -d. -f2)"
CACHE="${EGRESS_TESTENV_CACHE:-$HOME/.cache/egress-console/testenv}"
BIN="$CACHE/$K8S_VERSION/bin"

# NB: grep >/dev/null, not grep -q: -q exits at the first match, and under pipefail the SIGPIPE that
# then kills `etcd --version` (it prints four lines) failed the check ~1 run in 8 and rebuilt etcd.
have_apiserver() { [ -x "$BIN/kube-apiserver" ] && "$BIN/kube-apiserver" --version 2>/dev/null | grep "Kubernetes $K8S_VERSION\$" >/dev/null; }
have_kubectl() { [ -x "$BIN/kubectl" ] && "$BIN/kubectl" version --client 2>/dev/null | grep "Client Version: $K8S_VERSION\$" >/dev/null; }
have_etcd() { [ -x "$BIN/etcd" ] && "$BIN/etcd" --version 2>/dev/null | grep "etcd Version: ${ETCD_VERSION#v}\$" >/dev/null; }

if [ "${1:-}" = "--print" ]; then
  have_apiserver && have_etcd && { echo "$BIN"; exit 0; }  # NB: what the control plane needs; kubectl is the bench's
  exit 1
fi

# NB: Go's tarball install lives outside the default PATH of non-login shells (CI).
command -v go >/dev/null || [ ! -x /usr/local/go/bin/go ] || export PATH="$PATH:/usr/local/go/bin"
command -v go >/dev/null || { echo "build.sh: 'go' not found on PATH (needs Go >= 1.25)" >&2; exit 2; }

start=$(date +%s)
mkdir -p "$BIN"
export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:--mod=readonly}"  # go.sum is the lock file
NPROC="$(nproc 2>/dev/null || echo 2)"

LD="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION"
LD="$LD -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$MINOR"
LD="$LD -X k8s.io/component-base/version.gitTreeState=clean"
LD="$LD -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
LD="$LD -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$MINOR"

if have_apiserver; then
  echo "kube-apiserver $K8S_VERSION already built"
else
  echo "building kube-apiserver $K8S_VERSION (once: ~3 min of compiling on 2 cores, plus ~500 MB of module downloads on a fresh machine) ..."
  go build -p "$NPROC" -trimpath -ldflags "$LD" -o "$BIN/kube-apiserver.tmp" k8s.io/kubernetes/cmd/kube-apiserver
  mv -f "$BIN/kube-apiserver.tmp" "$BIN/kube-apiserver"
fi

if have_kubectl; then
  echo "kubectl $K8S_VERSION already built"
else
  echo "building kubectl $K8S_VERSION (~1 min once kube-apiserver is built: they share most packages) ..."
  go build -p "$NPROC" -trimpath -ldflags "$LD" -o "$BIN/kubectl.tmp" k8s.io/kubernetes/cmd/kubectl
  mv -f "$BIN/kubectl.tmp" "$BIN/kubectl"
fi

if have_etcd; then
  echo "etcd $ETCD_VERSION already built"
else
  echo "building etcd $ETCD_VERSION ..."
  go build -p "$NPROC" -trimpath -ldflags "-s -w" -o "$BIN/etcd.tmp" go.etcd.io/etcd/server/v3
  mv -f "$BIN/etcd.tmp" "$BIN/etcd"
fi

CRDS="$("${PYTHON:-python3}" "$HERE/istio_crds.py")"  # NB: an assignment, so set -e sees a failure
COMPOSE_SCHEMA="$(cd "$HERE/.." && "${PYTHON:-python3}" -m testenv.compose_schema)"
KUSTOMIZE="$(cd "$HERE/.." && "${PYTHON:-python3}" -m testenv.kustomize)"

"$BIN/kube-apiserver" --version
"$BIN/kubectl" version --client | sed -n 1p
"$BIN/etcd" --version | sed -n 1p  # NB: not head: under pipefail its early exit kills etcd with SIGPIPE
ls -la "$BIN"
echo "elapsed: $(( $(date +%s) - start ))s"
echo "binaries: $BIN"
echo "Istio CRDs: $CRDS"
echo "Compose schema: $COMPOSE_SCHEMA"
echo "kustomize: $KUSTOMIZE"
