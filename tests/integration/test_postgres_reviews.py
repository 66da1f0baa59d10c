"""The review workflow's database guarantees on the suite's throwaway PostgreSQL.

Both must hold across processes, not only inside one: at most one open review per policy (a
partial unique index, so two connections inserting at the same moment cannot both win), and an
audit table that refuses UPDATE and DELETE even to raw SQL (a pgtrigger trigger).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, connections, transaction

from policies import reviews, services
from policies.audit import broken_link
from policies.core.review import Role
from policies.models import AuditEntry, EgressPolicy, PolicyRevision, Review
from tests.fixtures.cli import egress
from tests.fixtures.console import scenario_document
from tests.fixtures.postgres import run_together
from tests.fixtures.reviews import user_in_role

# NB: serialized_rollback: a transactional test ends with a flush, which empties the data migration's groups.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True, serialized_rollback=True)]


@pytest.fixture(autouse=True)
def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run through `make test`, which starts one")


def insert_open_review(revision_id: int, outcomes: list[str], barrier: threading.Barrier) -> None:
    """Insert an in-review row for the revision's policy in this thread's own connection."""
    try:
        revision = PolicyRevision.objects.get(pk=revision_id)
        with transaction.atomic():
            barrier.wait(timeout=10)
            Review.objects.create(policy_id=revision.policy_id, revision=revision)
        outcomes.append("inserted")
    except IntegrityError:
        outcomes.append("refused")
    finally:
        connections.close_all()


def test_two_connections_cannot_both_open_a_review_of_one_policy(seed_gateway_record: Any) -> None:
    # given a policy and its revision
    policy = services.create_policy(scenario_document("2"), user=None)
    revision = policy.revisions.get()
    # when two connections insert an open review at the same moment, bypassing the service's own check
    outcomes = run_together(insert_open_review, [(revision.pk,)] * 2)
    # then the database lets exactly one in
    assert outcomes == ["inserted", "refused"]
    assert Review.objects.filter(policy=policy, state="in_review").count() == 1


def submit_in_thread(policy_id: int, user_id: int, outcomes: list[str], barrier: threading.Barrier) -> None:
    """Submit the policy for review in this thread's own connection, recording 201 or the refusal's code."""
    try:
        policy = EgressPolicy.objects.select_related("gateway").get(pk=policy_id)
        user = type(policy.created_by).objects.get(pk=user_id) if policy.created_by else None
        barrier.wait(timeout=10)
        reviews.submit_review(policy, user=user)
        outcomes.append("submitted")
    except reviews.ReviewOpen as exc:
        outcomes.append(exc.code)
    finally:
        connections.close_all()


def test_two_simultaneous_submissions_open_one_review_and_refuse_the_other(seed_gateway_record: Any) -> None:
    author = user_in_role(Role.EDITOR.value, "author")
    policy = services.create_policy(scenario_document("2"), user=author)
    outcomes = run_together(submit_in_thread, [(policy.pk, author.pk)] * 2)
    assert outcomes == ["REVIEW_OPEN", "submitted"]
    assert Review.objects.filter(policy=policy).count() == 1


@pytest.mark.parametrize(
    "statement",
    ["UPDATE policies_auditentry SET comment = 'forged'", "DELETE FROM policies_auditentry"],
)
def test_raw_sql_cannot_change_or_remove_audit_entries(seed_gateway_record: Any, statement: str) -> None:
    # given an audit trail (a submission)
    author = user_in_role(Role.EDITOR.value, "author")
    policy = services.create_policy(scenario_document("2"), user=author)
    reviews.submit_review(policy, user=author)
    before = list(AuditEntry.objects.values_list("pk", "comment", "hash"))
    # when raw SQL tries to rewrite history / then the trigger refuses and nothing changed
    refused = pytest.raises(DatabaseError, match="Cannot update or delete rows")
    with refused, transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement)
    assert list(AuditEntry.objects.values_list("pk", "comment", "hash")) == before
    assert broken_link() is None


def test_deleting_a_policy_leaves_its_audit_entries(seed_gateway_record: Any) -> None:
    author = user_in_role(Role.EDITOR.value, "author")
    policy = services.create_policy(scenario_document("2"), user=author)
    reviews.submit_review(policy, user=author)
    policy_id = policy.pk
    services.delete_policy(policy, user=author)
    assert AuditEntry.objects.filter(policy_id=policy_id).count() == 1


def test_the_chain_still_names_an_entry_changed_with_the_trigger_disabled(seed_gateway_record: Any) -> None:
    # given an audit trail, and someone with DDL rights who disables the trigger and forges an entry
    author = user_in_role(Role.EDITOR.value, "author")
    policy = services.create_policy(scenario_document("2"), user=author)
    review = reviews.submit_review(policy, user=author)
    reviews.withdraw_review(review, user=author, comment="oops")
    first = AuditEntry.objects.order_by("pk").first()
    assert first is not None
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE policies_auditentry DISABLE TRIGGER USER")
        cursor.execute("UPDATE policies_auditentry SET actor = 'someone-else' WHERE id = %s", [first.pk])
        cursor.execute("ALTER TABLE policies_auditentry ENABLE TRIGGER USER")
    # when / then the chain check names that entry, and the CLI exits 1
    broken = broken_link()
    assert broken is not None
    assert (broken.entry_id, broken.reason) == (first.pk, "its content does not match its hash")
    assert egress("audit", "verify")[0] == 1
