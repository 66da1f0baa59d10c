# syntax=docker/dockerfile:1
# The console's production image (README, "Running in production"): gunicorn serving console.wsgi,
# the static files collected at build time and served by whitenoise, run as an unprivileged user.
# docker-compose.yml builds it for `web` and the one-shot `migrate`; deploy/ runs it in a cluster.
# tests/deploy/test_container_files.py lints this file with hadolint; tests/integration/
# test_production_stack.py runs its CMD against PostgreSQL without Docker.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
# NB: gettext only here, to compile the zh-hans catalog; the final image has no build tools.
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext=0.21-12 \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml ./
# NB: the pinned runtime dependencies only: the console runs from /app, not as an installed package,
# because its settings find the templates, static files and catalogs beside the source.
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" \
        > requirements.txt \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install --no-cache-dir -r requirements.txt
ENV PATH=/opt/venv/bin:$PATH
COPY manage.py ./
COPY console console
COPY policies policies
COPY templates templates
COPY static static
COPY locale locale
# NB: collectstatic imports the settings, which refuse DEBUG=0 without a key: this one exists only
# during the build and never reaches the final image.
RUN python manage.py compilemessages -v0 \
    && DEBUG=0 SECRET_KEY=build-time-only-not-a-runtime-secret STATIC_ROOT=/app/staticfiles \
        python manage.py collectstatic --noinput -v0

FROM python:3.11-slim-bookworm
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DEBUG=0 STATIC_ROOT=/app/staticfiles PORT=8000
RUN groupadd --system --gid 10001 egress \
    && useradd --system --uid 10001 --gid egress --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin egress
COPY --from=build /opt/venv /opt/venv
COPY --from=build /app /app
WORKDIR /app
# NB: numeric, so that Kubernetes' runAsNonRoot can verify it; the code stays root-owned and read-only.
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 CMD ["python", "-m", "console.probe", "/healthz"]
# NB: the TLS proxy in front reuses its connections to gunicorn; gunicorn's default 2 s keep-alive closes
# them under its feet, and a request sent just then is reset (bench/load.py: 3 in every 1,000-1,500
# requests, none with 75 s). 75 s outlasts nginx's upstream keepalive_timeout and AWS ALB's idle timeout (60 s).
CMD ["gunicorn", "console.wsgi", "--bind", "0.0.0.0:8000", "--workers", "2", "--threads", "4", "--keep-alive", "75", "--worker-tmp-dir", "/dev/shm", "--access-logfile", "-", "--error-logfile", "-"]
