#!/usr/bin/env bash
# The production path (README, "Running in production"): DEBUG off, the schema migrated, the
# static files collected (the server refuses to start without them), then gunicorn.
#   DEBUG=0 SECRET_KEY=... DATABASE_URL=... ALLOWED_HOSTS=... bash scripts/serve.sh
# HOST/PORT pick the address (127.0.0.1:8000); WORKERS/THREADS the gunicorn pool (2 x 4).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export DEBUG="${DEBUG:-0}"
: "${SECRET_KEY:?set SECRET_KEY (e.g. \$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))'))}"
$BIN/python manage.py migrate --noinput
$BIN/python manage.py collectstatic --noinput -v0
exec $BIN/gunicorn console.wsgi --bind "${HOST:-127.0.0.1}:${PORT:-8000}" \
    --workers "${WORKERS:-2}" --threads "${THREADS:-4}" --keep-alive 75 --access-logfile - --error-logfile -
