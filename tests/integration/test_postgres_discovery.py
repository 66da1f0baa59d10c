"""Concurrent uploads of the same logs on the suite's PostgreSQL: both are stored and their counts add up.

SQLite serialises writers, so only PostgreSQL shows two uploads inserting the same new flows at once:
the loser's transaction rolls back on the unique flow key and is retried, merging into the winner's rows.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from policies.models import EgressGateway, ObservationUpload, ObservedFlow
from tests.fixtures.discovery import ingest_sample
from tests.fixtures.reviews import user_in_role

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run through `make test`, which starts one")


def upload_in_thread(gateway_id: int, user: Any, outcomes: list[str], barrier: threading.Barrier) -> None:
    try:
        gateway = EgressGateway.objects.prefetch_related("ports").get(pk=gateway_id)
        barrier.wait(timeout=10)
        ingest_sample(gateway, user)
        outcomes.append("stored")
    except Exception as exc:
        outcomes.append(type(exc).__name__)
    finally:
        connections.close_all()


def test_two_simultaneous_uploads_of_the_same_new_flows_both_count(seed_gateway_record) -> None:
    users = [user_in_role("editor", f"uploader-{n}") for n in range(2)]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(target=upload_in_thread, args=(seed_gateway_record.pk, user, outcomes, barrier))
        for user in users
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert outcomes == ["stored", "stored"]
    assert ObservationUpload.objects.count() == 2
    assert ObservedFlow.objects.count() == 4
    assert ObservedFlow.objects.get(host="www.httpbin.org", port=80).count == 4
