"""The audit log: what each step writes, the API's filters and exports, the chain check, append-only."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from policies import reviews
from policies.audit import append_entry
from policies.core.review import Role
from policies.models import AuditEntry, Review
from policies.models_review import AppendOnlyError
from tests.fixtures.api import codes_of
from tests.fixtures.cli import egress
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def decided(open_review: Review) -> Review:
    """The open review approved by an approver, with a comment."""
    reviews.approve_review(open_review, user=user_in_role(Role.APPROVER.value, "approver"), comment="fine")
    return open_review


def viewer_client() -> APIClient:
    client = APIClient()
    client.force_authenticate(user_in_role(Role.VIEWER.value))
    return client


def test_each_step_writes_one_chained_entry_with_who_what_and_which_revision(decided: Review) -> None:
    entries = list(AuditEntry.objects.order_by("pk"))
    assert [(e.actor, e.action) for e in entries] == [("author", "review.submit"), ("approver", "review.approve")]
    approve = entries[1]
    assert (approve.policy_id, approve.revision_number, approve.revision_hash) == (
        decided.policy_id,
        2,
        decided.revision.content_hash,
    )
    assert (approve.comment, approve.result) == ("fine", {"state": "approved"})
    assert (entries[0].prev_hash, approve.prev_hash) == ("", entries[0].hash)


def test_the_api_lists_entries_newest_first_with_filters(decided: Review) -> None:
    client = viewer_client()
    assert [e["action"] for e in client.get("/api/v1/audit/").json()] == ["review.approve", "review.submit"]
    assert [e["actor"] for e in client.get("/api/v1/audit/?actor=author").json()] == ["author"]
    assert [e["action"] for e in client.get("/api/v1/audit/?action=review.approve").json()] == ["review.approve"]
    assert client.get(f"/api/v1/audit/?policy={decided.policy_id + 1}").json() == []
    assert len(client.get(f"/api/v1/audit/?policy={decided.policy_id}&limit=1").json()) == 1
    assert client.get("/api/v1/audit/?since=2999-01-01T00:00:00Z").json() == []


def test_bad_filters_are_400_at_their_parameter(decided: Review) -> None:
    response = viewer_client().get("/api/v1/audit/?since=yesterday&policy=x&format=xml")
    assert response.status_code == 400
    assert sorted(e["path"] for e in response.json()["errors"]) == ["format", "policy", "since"]


def test_jsonl_export_is_one_entry_per_line_as_the_list_shows_it(decided: Review) -> None:
    client = viewer_client()
    response = client.get("/api/v1/audit/?format=jsonl")
    assert response["Content-Type"] == "application/jsonl"
    lines = [json.loads(line) for line in b"".join(response.streaming_content).decode().splitlines()]
    assert lines == client.get("/api/v1/audit/").json()


def test_csv_export_has_a_header_and_one_row_per_entry(decided: Review) -> None:
    response = viewer_client().get("/api/v1/audit/?format=csv&actor=approver")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(r["actor"], r["action"], r["comment"], r["result"]) for r in rows] == [
        ("approver", "review.approve", "fine", '{"state": "approved"}')
    ]


def test_reading_the_audit_log_needs_a_role(decided: Review) -> None:
    client = APIClient()
    client.force_authenticate(user_in_role("nobody"))
    response = client.get("/api/v1/audit/")
    assert (response.status_code, codes_of(response)) == (403, ["permission_denied"])
    assert client.head("/api/v1/audit/?format=csv").status_code == 403


def test_verify_passes_on_an_intact_chain(decided: Review) -> None:
    assert egress("audit", "verify") == (0, "audit chain verified: 2 entries\n", "")


def test_verify_names_the_first_entry_changed_behind_the_models_back(decided: Review) -> None:
    if connection.vendor == "postgresql":
        pytest.skip("PostgreSQL's trigger refuses the UPDATE itself (tests/integration/test_postgres_reviews.py)")
    first = AuditEntry.objects.order_by("pk").first()
    assert first is not None
    with connection.cursor() as cursor:
        cursor.execute("UPDATE policies_auditentry SET comment = 'forged' WHERE id = %s", [first.pk])
    code, out, err = egress("audit", "verify")
    assert (code, out) == (1, "")
    assert err == f"egress audit: entry {first.pk} is broken: its content does not match its hash\n"


def test_no_update_or_delete_path_in_the_model(decided: Review) -> None:
    entry = AuditEntry.objects.first()
    assert entry is not None
    entry.comment = "changed"
    for attempt in (
        entry.save,
        entry.delete,
        AuditEntry.objects.all().delete,
        lambda: AuditEntry.objects.update(comment="x"),
    ):
        with pytest.raises(AppendOnlyError):
            attempt()
    assert AuditEntry.objects.filter(comment="changed").count() == 0


def test_appends_take_the_request_id_and_keep_the_chain(decided: Review) -> None:
    entry = append_entry(action="note", comment="x")
    assert entry.prev_hash == AuditEntry.objects.order_by("pk")[1].hash
    assert egress("audit", "verify")[0] == 0


def test_admin_approval_enforces_separation_of_duties(open_review: Review) -> None:
    # given the author also holds the approver role
    open_review.author.groups.add(Group.objects.get(name="approver"))
    client = Client()
    client.force_login(open_review.author)
    # when they approve their own review through the admin action
    response = client.post(
        "/admin/policies/review/", {"action": "approve_reviews", "_selected_action": [open_review.pk]}, follow=True
    )
    # then it stays in review and the admin says why
    assert Review.objects.get(pk=open_review.pk).state == "in_review"
    assert f"#{open_review.pk}: SELF_APPROVAL" in response.content.decode()


def test_admin_lists_reviews_with_a_state_filter(open_review: Review, admin_user: Any) -> None:
    client = Client()
    client.force_login(admin_user)
    page = client.get("/admin/policies/review/?state__exact=in_review").content.decode()
    assert f"/admin/policies/review/{open_review.pk}/change/" in page
    assert (
        f"/admin/policies/review/{open_review.pk}/change/"
        not in client.get("/admin/policies/review/?state__exact=approved").content.decode()
    )
