"""The review workflow over the API: submit, decide, withdraw, restore, and what each refuses."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from policies import reviews
from policies.core.review import Role
from policies.models import EgressPolicy, PolicyRevision, Review
from tests.fixtures.api import codes_of, errors_of, send
from tests.fixtures.reviews import edit_port, user_in_role

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> APIClient:
    """An API client signed in as ``user`` (re-read, so group changes since are seen)."""
    client = APIClient()
    client.force_authenticate(get_user_model().objects.get(pk=user.pk))
    return client


@pytest.fixture
def approver(db: Any) -> Any:
    return user_in_role(Role.APPROVER.value, "approver")


def test_submit_freezes_the_draft_as_a_revision_and_opens_a_review(reviewed_policy, author):
    # given an edited draft
    edit_port(reviewed_policy, 81, author)
    # when the author submits it
    response = send(client_for(author), "post", f"/api/v1/policies/{reviewed_policy.pk}/submit/", {"message": "81"})
    # then a review of a new revision 2 is open, holding exactly the draft's content
    assert response.status_code == 201, response.content
    body = response.json()
    revision = PolicyRevision.objects.get(policy=reviewed_policy, number=2)
    assert {k: body[k] for k in ("state", "revision", "contentHash", "author", "message", "restores")} == {
        "state": "in_review",
        "revision": 2,
        "contentHash": revision.content_hash,
        "author": "author",
        "message": "81",
        "restores": None,
    }
    assert response["Location"] == f"/api/v1/reviews/{body['id']}/"
    assert revision.document["spec"]["egressRules"][0]["to"][0]["port"]["number"] == 81


def test_editing_the_draft_afterwards_leaves_the_frozen_revision_alone(open_review, author):
    frozen = PolicyRevision.objects.get(pk=open_review.revision_id)
    edit_port(open_review.policy, 82, author)
    after = PolicyRevision.objects.get(pk=open_review.revision_id)
    assert (after.document, after.content_hash) == (frozen.document, frozen.content_hash)
    assert after.document["spec"]["egressRules"][0]["to"][0]["port"]["number"] == 81


def test_a_second_submission_while_one_is_open_is_409_naming_it(open_review, author):
    edit_port(open_review.policy, 82, author)
    response = send(client_for(author), "post", f"/api/v1/policies/{open_review.policy_id}/submit/", {})
    assert response.status_code == 409
    [error] = errors_of(response)
    assert (error["code"], error["path"]) == ("REVIEW_OPEN", "review")
    assert f"#{open_review.pk}" in error["message"]
    assert Review.objects.filter(policy=open_review.policy).count() == 1


def test_self_approval_is_403_self_approval(open_review, db):
    # given the author also holds the approver role
    open_review.author.groups.add(Group.objects.get(name="approver"))
    response = send(client_for(open_review.author), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {})
    assert response.status_code == 403
    assert codes_of(response) == ["SELF_APPROVAL"]
    assert Review.objects.get(pk=open_review.pk).state == "in_review"


def test_someone_who_edited_the_draft_may_not_approve_it(reviewed_policy, author, approver):
    # given an approver, also an editor, who edited the draft before the author submitted it
    approver.groups.add(Group.objects.get(name="editor"))
    edit_port(reviewed_policy, 83, approver)
    review = send(client_for(author), "post", f"/api/v1/policies/{reviewed_policy.pk}/submit/", {}).json()
    response = send(client_for(approver), "post", f"/api/v1/reviews/{review['id']}/approve/", {})
    assert (response.status_code, codes_of(response)) == (403, ["SELF_APPROVAL"])


def test_an_approver_approves_with_a_comment(open_review, approver):
    response = send(client_for(approver), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {"comment": "ok"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["state"] == "approved"
    assert [(d["user"], d["decision"], d["comment"]) for d in body["decisions"]] == [("approver", "approve", "ok")]


@pytest.mark.parametrize("step", ["withdraw", "reject"])
def test_approving_a_closed_review_is_409(open_review, approver, step):
    closer = open_review.author if step == "withdraw" else approver
    assert send(client_for(closer), "post", f"/api/v1/reviews/{open_review.pk}/{step}/", {}).status_code == 200
    response = send(client_for(approver), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {})
    assert (response.status_code, codes_of(response)) == (409, ["INVALID_TRANSITION"])


def test_a_new_submission_supersedes_an_approved_review_which_can_no_longer_be_approved(open_review, approver):
    # given the open review approved, then a further change submitted
    send(client_for(approver), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {})
    edit_port(open_review.policy, 84, open_review.author)
    newer = send(client_for(open_review.author), "post", f"/api/v1/policies/{open_review.policy_id}/submit/", {})
    assert newer.status_code == 201
    # then the first is superseded, and approving it again is a conflict
    assert Review.objects.get(pk=open_review.pk).state == "superseded"
    other = user_in_role(Role.APPROVER.value, "approver-2")
    response = send(client_for(other), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {})
    assert (response.status_code, codes_of(response)) == (409, ["INVALID_TRANSITION"])


def test_required_approvals_come_from_the_setting(open_review, approver, settings):
    settings.EGRESS_REQUIRED_APPROVALS = 2
    first = send(client_for(approver), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {})
    assert first.json()["state"] == "in_review"
    again = send(client_for(approver), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {})
    assert (again.status_code, codes_of(again)) == (409, ["ALREADY_APPROVED"])
    second = user_in_role(Role.APPROVER.value, "approver-2")
    assert send(client_for(second), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {}).json()["state"] == (
        "approved"
    )


def test_a_role_without_the_right_is_403(open_review):
    viewer = user_in_role(Role.VIEWER.value)
    response = send(client_for(viewer), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {})
    assert (response.status_code, codes_of(response)) == (403, ["permission_denied"])


def test_a_role_without_the_right_is_refused_before_its_body_is_read(open_review):
    viewer = user_in_role(Role.VIEWER.value)
    response = send(client_for(viewer), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {"coment": 1})
    assert (response.status_code, codes_of(response)) == (403, ["permission_denied"])
    submit = send(client_for(viewer), "post", f"/api/v1/policies/{open_review.policy_id}/submit/", [])
    assert (submit.status_code, codes_of(submit)) == (403, ["permission_denied"])


def test_unknown_body_fields_and_unknown_reviews_are_refused_in_the_error_shape(open_review, approver):
    response = send(client_for(approver), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {"coment": "x"})
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("unknown_field", "coment")]
    missing = send(client_for(approver), "post", "/api/v1/reviews/999999/approve/", {})
    assert (missing.status_code, codes_of(missing)) == (404, ["not_found"])


def test_reviews_are_listed_and_filtered_by_state(open_review, approver):
    client = client_for(approver)
    assert [r["id"] for r in client.get("/api/v1/reviews/").json()] == [open_review.pk]
    assert client.get("/api/v1/reviews/?state=approved").json() == []
    bad = client.get("/api/v1/reviews/?state=open")
    assert [(e["code"], e["path"]) for e in errors_of(bad)] == [("invalid_choice", "state")]
    detail = client.get(f"/api/v1/reviews/{open_review.pk}/").json()
    assert (detail["policy"], detail["revision"], detail["state"]) == (open_review.policy_id, 2, "in_review")
    # and each user is told which steps they may take now
    assert detail["allowedActions"] == ["approve", "reject"]
    assert client_for(open_review.author).get(f"/api/v1/reviews/{open_review.pk}/").json()["allowedActions"] == [
        "withdraw"
    ]


def test_listing_reviews_takes_a_fixed_number_of_queries(open_review, approver, django_assert_max_num_queries):
    for port in (91, 92, 93):
        reviews.withdraw_review(Review.objects.filter(state="in_review").get(), user=open_review.author)
        edit_port(open_review.policy, port, open_review.author)
        reviews.submit_review(open_review.policy, user=open_review.author)
    client = client_for(approver)
    with django_assert_max_num_queries(8):
        assert len(client.get("/api/v1/reviews/").json()) == 4


def test_restore_makes_a_revision_the_draft_and_its_review_records_it(open_review, approver):
    # given revision 2 (port 81) approved after revision 1
    author, policy = open_review.author, open_review.policy
    send(client_for(approver), "post", f"/api/v1/reviews/{open_review.pk}/approve/", {})
    # when the author restores revision 1 and submits it
    restored = send(client_for(author), "post", f"/api/v1/policies/{policy.pk}/revisions/1/restore/")
    assert restored.status_code == 200, restored.content
    assert restored.json()["spec"]["egressRules"][0]["to"][0]["port"]["number"] == 80
    review = send(client_for(author), "post", f"/api/v1/policies/{policy.pk}/submit/", {"message": "roll back"})
    # then the new review freezes revision 3 with revision 1's content, and says it restores revision 1
    body = review.json()
    assert (body["revision"], body["restores"]) == (3, 1)
    assert body["contentHash"] == PolicyRevision.objects.get(policy=policy, number=1).content_hash


def test_restoring_a_missing_revision_is_404_and_needs_the_edit_role(reviewed_policy, author):
    missing = send(client_for(author), "post", f"/api/v1/policies/{reviewed_policy.pk}/revisions/9/restore/")
    assert (missing.status_code, codes_of(missing)) == (404, ["not_found"])
    viewer = user_in_role(Role.VIEWER.value)
    refused = send(client_for(viewer), "post", f"/api/v1/policies/{reviewed_policy.pk}/revisions/1/restore/")
    assert (refused.status_code, codes_of(refused)) == (403, ["permission_denied"])


def test_submission_needs_credentials(reviewed_policy):
    response = send(APIClient(), "post", f"/api/v1/policies/{reviewed_policy.pk}/submit/", {})
    assert response.status_code == 401
    assert EgressPolicy.objects.get(pk=reviewed_policy.pk).reviews.count() == 0
