"""The permission matrix, generated: every role × every workflow action, through the service layer, the API
and the Django admin, and for applying also the console and the CLI. The expected answer comes from the
permissions the role's group holds in the database (created by the data migration) and the one permission
each action needs, not from a hand-written table.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from policies import jobs, reviews
from policies.core.review import Role
from policies.models import ApplyJob, AuditEntry, Review
from policies.services import ServiceError
from tests.fixtures.api import send
from tests.fixtures.cli import egress
from tests.fixtures.reviews import ROLES_AND_NONE, role_holds, user_in_role

pytestmark = pytest.mark.django_db

# NB: each action by someone who is not the review's author, on the author's review or policy.
NEEDS = {
    "submit": "submit_review",
    "approve": "approve_review",
    "reject": "approve_review",
    "withdraw": "withdraw_any_review",
    "restore": "submit_review",
    "read_audit": "view_auditentry",
    "apply": "apply_review",
}
SERVICE_ACTIONS = ["submit", "approve", "reject", "withdraw", "restore", "apply"]
ADMIN_ACTIONS = {"approve": "approve_reviews", "reject": "reject_reviews"}


def allowed(role: str, action: str) -> bool:
    """Whether the role's group, as the data migration made it, holds what ``action`` needs."""
    return role_holds(role, NEEDS[action])


@pytest.fixture
def subject(request: Any, reviewed_policy: Any, author: Any) -> dict[str, Any]:
    """The author's policy, with an open review unless the action is a submission (approved, to apply it)."""
    action = request.node.callspec.params["action"]
    review = None if action == "submit" else reviews.submit_review(reviewed_policy, user=author)
    if action == "apply":
        request.getfixturevalue("fake_clusters")
        reviews.approve_review(review, user=user_in_role(Role.APPROVER.value, "approver"))
        review = Review.objects.get(pk=review.pk)
    return {"policy": reviewed_policy, "review": review}


def run_service(action: str, user: Any, policy: Any, review: Review | None) -> None:
    if action == "submit":
        reviews.submit_review(policy, user=user)
    elif action == "restore":
        reviews.restore_revision(policy, 1, user=user)
    elif action == "apply":
        jobs.start_apply(review, jobs.resolve_clusters(["a"]), target="istio", dry_run=True, user=user)
    else:
        getattr(reviews, f"{action}_review")(review, user=user)


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES_AND_NONE, SERVICE_ACTIONS)))
def test_service_layer(role: str, action: str, subject: dict[str, Any]) -> None:
    user = user_in_role(role)
    if allowed(role, action):
        run_service(action, user, subject["policy"], subject["review"])
        return
    with pytest.raises(ServiceError) as refused:
        run_service(action, user, subject["policy"], subject["review"])
    assert refused.value.status == 403
    assert refused.value.code in ("permission_denied", "NOT_SUBMITTER")


def api_call(action: str, client: APIClient, policy: Any, review: Review | None) -> Any:
    if action == "submit":
        return send(client, "post", f"/api/v1/policies/{policy.pk}/submit/", {"message": "m"})
    if action == "restore":
        return send(client, "post", f"/api/v1/policies/{policy.pk}/revisions/1/restore/")
    if action == "read_audit":
        return client.get("/api/v1/audit/")
    if action == "apply":
        return send(client, "post", f"/api/v1/reviews/{review.pk}/apply/", {"cluster": "a", "target": "istio"})
    assert review is not None
    return send(client, "post", f"/api/v1/reviews/{review.pk}/{action}/", {"comment": "c"})


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES_AND_NONE, NEEDS)))
def test_api(role: str, action: str, subject: dict[str, Any]) -> None:
    client = APIClient()
    client.force_authenticate(user_in_role(role))
    response = api_call(action, client, subject["policy"], subject["review"])
    expected = {"submit": 201, "apply": 202}.get(action, 200) if allowed(role, action) else 403
    assert response.status_code == expected, response.content


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES_AND_NONE, ADMIN_ACTIONS)))
def test_admin_actions(role: str, action: str, subject: dict[str, Any]) -> None:
    client = Client()
    client.force_login(user_in_role(role))
    review = subject["review"]
    client.post(
        "/admin/policies/review/",
        {"action": ADMIN_ACTIONS[action], "_selected_action": [review.pk]},
    )
    state = Review.objects.get(pk=review.pk).state
    assert state == ({"approve": "approved", "reject": "rejected"}[action] if allowed(role, action) else "in_review")


@pytest.mark.parametrize("role", ROLES_AND_NONE)
def test_admin_audit_log_is_readable_by_roles_and_never_writable(role: str, open_review: Review) -> None:
    client = Client()
    client.force_login(user_in_role(role))
    listing = client.get("/admin/policies/auditentry/")
    assert listing.status_code == (200 if allowed(role, "read_audit") else 403)
    entry = AuditEntry.objects.get(action="review.submit", policy_id=open_review.policy_id)
    assert client.get(f"/admin/policies/auditentry/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/admin/policies/auditentry/{entry.pk}/change/", {"actor": "x"}).status_code == 403
    assert client.get("/admin/policies/auditentry/add/").status_code == 403


@pytest.mark.parametrize("role", ROLES_AND_NONE)
@pytest.mark.parametrize("action", ["apply"])
def test_console_apply(role: str, action: str, subject: dict[str, Any]) -> None:
    client = Client()
    client.force_login(user_in_role(role))
    review = subject["review"]
    response = client.post(
        f"/reviews/{review.pk}/apply/", {"clusters": ["a"], "target": "istio"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == (202 if allowed(role, action) else 403)
    assert ApplyJob.objects.filter(review=review).exists() is allowed(role, action)


@pytest.mark.django_db(transaction=True)  # NB: an allowed apply runs here, on the runner's own connections
@pytest.mark.parametrize("role", ROLES_AND_NONE)
@pytest.mark.parametrize("action", ["apply"])
def test_cli_apply(role: str, action: str, subject: dict[str, Any]) -> None:
    user = user_in_role(role)
    review = subject["review"]
    code, _out, err = egress(
        "apply", "--review", str(review.pk), "--user", user.username, "--cluster", "a", "--target", "istio", "--dry-run"
    )
    if allowed(role, action):
        assert (code, err) == (0, "")
    else:
        assert (code, err.split(":")[:2]) == (1, ["egress apply", " error permission_denied"])
    assert ApplyJob.objects.filter(review=review).exists() is allowed(role, action)


def console_call(action: str, client: Client, policy: Any, review: Review | None) -> Any:
    if action == "submit":
        return client.post(f"/policies/{policy.name}/submit/", {"message": "m"})
    if action == "restore":
        return client.post(f"/policies/{policy.name}/revisions/1/restore/")
    if action == "read_audit":
        return client.get("/audit/")
    assert review is not None
    return client.post(f"/reviews/{review.pk}/decide/", {"action": action, "comment": "c"})


def console_effect(action: str, policy: Any, review: Review | None, response: Any) -> bool:
    """Whether the console's answer took effect (its forms redirect either way, with a message)."""
    if action == "submit":
        return Review.objects.filter(policy=policy).exists()
    if action == "restore":
        return AuditEntry.objects.filter(action="revision.restore", policy_id=policy.pk).exists()
    if action == "read_audit":
        return response.status_code == 200
    assert review is not None
    return Review.objects.get(pk=review.pk).state != "in_review"


CONSOLE_ACTIONS = [action for action in NEEDS if action != "apply"]  # NB: apply has test_console_apply


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES_AND_NONE, CONSOLE_ACTIONS)))
def test_console(role: str, action: str, subject: dict[str, Any]) -> None:
    client = Client()
    client.force_login(user_in_role(role))
    response = console_call(action, client, subject["policy"], subject["review"])
    assert response.status_code in (200, 302, 403), response.status_code
    assert console_effect(action, subject["policy"], subject["review"], response) is allowed(role, action)
