"""Issue 12, item 2: the probes. ``/healthz`` is the process alone; ``/readyz`` adds the database and migrations."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, connection
from django.db.migrations.recorder import MigrationRecorder

from tests.fixtures.api import errors_of

pytestmark = pytest.mark.django_db


def refusing_database() -> Any:
    """Every query fails the way a stopped server makes it fail."""

    def refuse(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("connection refused")

    return connection.execute_wrapper(refuse)


@pytest.mark.smoke
def test_healthz_answers_anonymously_without_a_database_query(client, django_assert_num_queries):
    # when an anonymous probe asks, while every query would fail
    with django_assert_num_queries(0), refusing_database():
        response = client.get("/healthz")
    # then 200, never cached
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.smoke
def test_readyz_answers_ready_anonymously_on_a_migrated_database(client):
    response = client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})
    assert "no-cache" in response["Cache-Control"]


def test_readyz_is_503_database_unavailable_when_the_database_refuses(client):
    with refusing_database():
        response = client.get("/readyz")
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert [e["code"] for e in errors_of(response)] == ["database_unavailable"]


def test_readyz_is_503_migrations_pending_while_a_migration_is_unapplied(client):
    # given the newest policies migration recorded as not applied (rolled back with the test's transaction)
    latest = MigrationRecorder.Migration.objects.filter(app="policies").order_by("-name").first()
    assert latest is not None
    latest.delete()
    # when the probe asks
    response = client.get("/readyz")
    # then 503, naming the migration
    assert response.status_code == 503
    assert errors_of(response) == [
        {
            "code": "migrations_pending",
            "path": "",
            "message": f"1 unapplied migration(s), the first policies.{latest.name}: run `manage.py migrate`.",
        }
    ]


@pytest.mark.parametrize("probe", ["/healthz", "/readyz"])
def test_probes_refuse_writes(client, probe):
    assert client.post(probe).status_code == 405
