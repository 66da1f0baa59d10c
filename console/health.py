"""Liveness and readiness probes for whatever runs the console (compose, Kubernetes, a load balancer).

``/healthz`` says the process answers HTTP; it touches nothing else, so a database outage never
gets a healthy web process restarted. ``/readyz`` says this process can serve requests: the
database answers and every migration is applied (a replica started before ``migrate`` finished
must not get traffic). Both are open without signing in and answer in the API's error shape.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from policies.api.errors import DATABASE_ERRORS, DatabaseUnavailableError, error_entry


@never_cache
@login_not_required
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 while the process serves HTTP; no database query."""
    return JsonResponse({"status": "ok"})


@never_cache
@login_not_required
@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """200 when the database answers and no migration is pending; 503 in the error shape otherwise."""
    try:
        pending = pending_migrations()
    except DATABASE_ERRORS:
        refusal = DatabaseUnavailableError()
        return JsonResponse({"errors": refusal.errors}, status=503, headers={"Retry-After": str(refusal.wait)})
    if pending:
        # NB: not translated: probes are read by machines and logs, not by people choosing a language.
        message = f"{len(pending)} unapplied migration(s), the first {pending[0]}: run `manage.py migrate`."
        entry = error_entry("migrations_pending", "", message)
        return JsonResponse({"errors": [entry]}, status=503)
    return JsonResponse({"status": "ready"})


def pending_migrations() -> list[str]:
    """``app.name`` of every migration not yet applied to the default database (which is queried)."""
    connection = connections[DEFAULT_DB_ALIAS]
    executor = MigrationExecutor(connection)  # NB: reads django_migrations, so it also proves the database answers
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{migration.app_label}.{migration.name}" for migration, _backwards in plan]
