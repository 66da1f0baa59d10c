#!/usr/bin/env bash
# The whole test suite, as `make test` runs it (and CI through .ci/run): the Go builds in the
# background → set-up (apt, venv, catalogs) → static checks → the full pytest suite on a throwaway
# PostgreSQL → the smoke set on SQLite. The test control plane and the Istio harness are built
# once into ~/.cache; the integration and oracle tests start them. pytest's exit code 5 ("no
# tests collected") counts as failure.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
fail() { echo "FAILED: $*" >&2; exit 1; }

# The Go builds need neither apt nor the venv, so they start first, in the background: the test
# control plane (kube-apiserver + etcd) and the Istio harness + istioctl (~12 min of compiling on
# a cold 2-core machine; no-ops once cached). Set-up and static checks run beside them.
mkdir -p "${TMPDIR:-/tmp}"
BUILD_LOGS=$(mktemp -d "${TMPDIR:-/tmp}/egress-go-builds.XXXXXX")
bash testenv/build.sh >"$BUILD_LOGS/testenv.log" 2>&1 &
CONTROL_PLANE_BUILD=$!
bash testenv/istio/build.sh >"$BUILD_LOGS/istio.log" 2>&1 &
ISTIO_BUILD=$!

echo "== set-up: system packages, Python dependencies, catalogs"
make --no-print-directory system-packages setup || fail "set-up (make system-packages setup)"

echo "== static checks"
$BIN/ruff check . || fail "ruff check"
$BIN/ruff format --check . || fail "ruff format (run: .venv/bin/ruff format .)"
$BIN/lint-imports || fail "import contract (policies.core must stay pure Python)"
$BIN/mypy || fail "mypy (policies.core and policies.cluster are checked strictly)"
# NB: security checks: ruff's S (bandit) rules run with ruff above; pip-audit skips itself, saying so,
# when the vulnerability service cannot be reached, and fails only on a known vulnerability.
$BIN/python scripts/audit_dependencies.py || fail "pip-audit (upgrade the pin in pyproject.toml)"
$BIN/python manage.py check --fail-level WARNING || fail "manage.py check"
$BIN/python manage.py makemigrations --check --dry-run >/dev/null || fail "missing migrations (run makemigrations)"

echo "== test control plane binaries"
wait "$CONTROL_PLANE_BUILD" || { cat "$BUILD_LOGS/testenv.log" >&2; fail "building kube-apiserver + etcd (see testenv/README.md)"; }
tail -n 3 "$BUILD_LOGS/testenv.log"

echo "== Istio harness and istioctl (testenv/istio)"
wait "$ISTIO_BUILD" || { cat "$BUILD_LOGS/istio.log" >&2; fail "building the Istio harness (see testenv/istio/README.md)"; }
tail -n 2 "$BUILD_LOGS/istio.log"

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
