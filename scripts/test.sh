#!/usr/bin/env bash
# The whole test suite, as `make test` runs it (and CI through .ci/run):
#   static checks → the full pytest suite on a throwaway PostgreSQL → the smoke set on SQLite.
# The test control plane (kube-apiserver + etcd) is built once into ~/.cache and started by the
# integration tests' own fixtures. pytest's exit code 5 ("no tests collected") counts as failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
fail() { echo "FAILED: $*" >&2; exit 1; }

# The Istio harness (pilot + istioctl, ~20 min of compiling on a cold machine) builds in the
# background while the static checks and the control plane build run.
mkdir -p "${TMPDIR:-/tmp}"
ISTIO_LOG=$(mktemp "${TMPDIR:-/tmp}/egress-istio-build.XXXXXX")
bash testenv/istio/build.sh >"$ISTIO_LOG" 2>&1 &
ISTIO_BUILD=$!

echo "== static checks"
$BIN/ruff check . || fail "ruff check"
$BIN/ruff format --check . || fail "ruff format (run: .venv/bin/ruff format .)"
$BIN/lint-imports || fail "import contract (policies.core must stay pure Python)"
$BIN/mypy || fail "mypy (policies.core and policies.cluster are checked strictly)"
$BIN/python manage.py check --fail-level WARNING || fail "manage.py check"
$BIN/python manage.py makemigrations --check --dry-run >/dev/null || fail "missing migrations (run makemigrations)"

echo "== test control plane binaries"
bash testenv/build.sh || fail "building kube-apiserver + etcd (see testenv/README.md)"

echo "== Istio harness and istioctl (testenv/istio)"
wait "$ISTIO_BUILD" || { cat "$ISTIO_LOG" >&2; fail "building the Istio harness (see testenv/istio/README.md)"; }
tail -n 2 "$ISTIO_LOG"

run_pytest() { # run_pytest LABEL ARGS...
  local label=$1; shift
  $BIN/pytest "$@"
  local rc=$?
  if [[ $rc -eq 5 ]]; then fail "$label: pytest collected no tests"; fi
  [[ $rc -eq 0 ]] || fail "$label: pytest exit code $rc"
}

echo "== full suite on PostgreSQL"
PGROOT=$(mktemp -d /tmp/egress-pgtest.XXXXXX)
trap '$BIN/python scripts/pgcluster.py stop "$PGROOT" >/dev/null 2>&1' EXIT
DATABASE_URL=$($BIN/python scripts/pgcluster.py start "$PGROOT") || fail "starting PostgreSQL"
DATABASE_URL=$DATABASE_URL run_pytest "postgres suite" "$@"

echo "== smoke set on SQLite (the make run default)"
unset DATABASE_URL
run_pytest "sqlite smoke" -m smoke -q

echo "== all tests passed"
