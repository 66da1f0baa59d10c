"""The Django admin's reviews: listed by state, the change view shows the report read-only, and the approve and
reject actions take the same verbs as the console and the API (no self-approval, with the reason shown)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from policies import review_plan
from policies.cluster.fake import FakeClusterApi
from policies.core.review import Role
from policies.models import Cluster, Review
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db


def admin_client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_list_filters_by_state(open_review: Review) -> None:
    client = admin_client(user_in_role(Role.APPROVER.value))
    assert (
        f"/admin/policies/review/{open_review.pk}/change/"
        in client.get("/admin/policies/review/?state=in_review").content.decode()
    )
    assert (
        f"/admin/policies/review/{open_review.pk}/change/"
        not in client.get("/admin/policies/review/?state=approved").content.decode()
    )


def test_the_change_view_shows_reachability_summary_and_diff_read_only(open_review: Review) -> None:
    html = (
        admin_client(user_in_role(Role.APPROVER.value))
        .get(f"/admin/policies/review/{open_review.pk}/change/")
        .content.decode()
    )
    for part in (
        'data-testid="reachability"',
        'data-testid="reachability-row"',
        'data-testid="summary"',
        'data-testid="diff-pane"',
    ):
        assert part in html, part
    assert (
        html.index('data-testid="reachability"')
        < html.index('data-testid="summary"')
        < html.index('data-testid="diffs"')
    )
    assert "No plan has been made for this revision yet" in html
    assert "<textarea" not in html.split('data-testid="admin-review-report"')[1].split("</fieldset>")[0]


def test_the_change_view_shows_a_cached_plan_without_calling_the_cluster(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    review_plan.review_plan(open_review, east, target="istio")
    calls = len(planning_fake.requests)
    client = admin_client(user_in_role(Role.APPROVER.value))
    html = client.get(f"/admin/policies/review/{open_review.pk}/change/").content.decode()
    assert 'data-testid="plan-table"' in html and "On east (target istio)" in html
    assert len(planning_fake.requests) == calls


def test_the_approve_action_refuses_self_approval_with_the_reason(open_review: Review) -> None:
    author = open_review.author
    author.groups.add(Group.objects.get(name=Role.APPROVER.value))  # type: ignore[union-attr]
    response = admin_client(author).post(
        "/admin/policies/review/", {"action": "approve_reviews", "_selected_action": [open_review.pk]}, follow=True
    )
    assert Review.objects.get(pk=open_review.pk).state == "in_review"
    assert "SELF_APPROVAL" in response.content.decode()


def test_the_approve_action_of_another_approver_approves(open_review: Review) -> None:
    response = admin_client(user_in_role(Role.APPROVER.value)).post(
        "/admin/policies/review/", {"action": "approve_reviews", "_selected_action": [open_review.pk]}, follow=True
    )
    assert Review.objects.get(pk=open_review.pk).state == "approved"
    assert f"Review #{open_review.pk} approved." in response.content.decode()
