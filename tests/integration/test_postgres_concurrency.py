"""Optimistic locking under real concurrency, on the suite's throwaway PostgreSQL.

SQLite serialises writers by locking the whole file, so only PostgreSQL's row locks
(``select_for_update``) show that two simultaneous saves of the same draft version cannot both
win. ``make test`` runs this file against the PostgreSQL cluster it starts.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from policies import services
from policies.models import EgressPolicy, PolicyDraft
from tests.fixtures.console import scenario_document
from tests.fixtures.postgres import run_together

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run through `make test`, which starts one")


def save_in_thread(policy_id: int, document: dict[str, Any], outcomes: list[str], barrier: threading.Barrier) -> None:
    """Save a draft edit based on version 1, recording 'saved' or the refusal's code."""
    try:
        policy = EgressPolicy.objects.select_related("gateway").get(pk=policy_id)
        barrier.wait(timeout=10)
        services.save_draft(policy, document, expected_version=1, user=None)
        outcomes.append("saved")
    except services.StaleDraft as exc:
        outcomes.append(exc.code)
    finally:
        connections.close_all()


def test_two_simultaneous_saves_of_one_version_let_exactly_one_win(seed_gateway_record: Any) -> None:
    # given a policy whose draft is at version 1
    policy = services.create_policy(scenario_document("2"), user=None)
    edits = []
    for port in (81, 82):
        document = scenario_document("2")
        document["spec"]["egressRules"][0]["to"][0]["port"]["number"] = port
        edits.append(document)
    # when two editors save their version-1 edits at the same moment
    outcomes = run_together(save_in_thread, [(policy.pk, edit) for edit in edits])
    # then one is saved, the other refused as stale, and the draft holds the winner's edit only
    assert outcomes == ["EGRESS-E002", "saved"]
    draft = PolicyDraft.objects.get(policy=policy)
    assert draft.version == 2
    assert draft.document["spec"]["egressRules"][0]["to"][0]["port"]["number"] in (81, 82)


def test_database_is_postgresql_in_the_full_suite() -> None:
    # given the suite started by `make test` / then the Django tests really ran on PostgreSQL
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        assert int(cursor.fetchone()[0].split(".")[0]) >= 13
