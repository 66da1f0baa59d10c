"""``GET /api/v1/reviews/{id}/diff/``: the report over the API, against applied or live, and what it refuses."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from policies.cluster.errors import ClusterUnreachable
from policies.cluster.fake import FakeClusterApi
from policies.clusters import CHECK_RETRY
from policies.core.review import Role
from policies.models import Cluster, Review
from tests.fixtures.api import errors_of
from tests.fixtures.review_plans import expand_nothing, kill
from tests.fixtures.reviews import NO_ROLE, ROLES, user_in_role

pytestmark = pytest.mark.django_db


def get(review: Review, query: str = "", role: str = Role.APPROVER.value) -> Any:
    client = APIClient()
    reader = get_user_model().objects.filter(username=f"{role}-reader").first() or user_in_role(role, f"{role}-reader")
    client.force_authenticate(reader)
    return client.get(f"/api/v1/reviews/{review.pk}/diff/{query}")


def test_applied_without_a_cluster_compares_with_the_empty_policy(open_review: Review) -> None:
    response = get(open_review)
    assert response.status_code == 200, response.content
    body = response.json()
    assert list(body)[:4] == ["review", "base", "meshMode", "reachability"]
    assert body["against"] == "applied" and body["plan"] is None
    assert body["base"] == {"kind": "empty", "revision": None, "contentHash": None, "cluster": None, "appliedAt": None}
    assert body["reachability"]["counts"]["allowed"] > 0
    assert body["diffs"]["istioCounts"]["added"] == len(body["diffs"]["istio"]) > 0


def test_live_without_a_cluster_is_400_naming_the_field(open_review: Review) -> None:
    response = get(open_review, "?against=live")
    assert response.status_code == 400
    [error] = errors_of(response)
    assert (error["code"], error["path"]) == ("required", "cluster")


def test_an_unknown_cluster_is_404_naming_the_field(open_review: Review) -> None:
    response = get(open_review, "?against=live&cluster=nowhere")
    assert response.status_code == 404
    [error] = errors_of(response)
    assert error["path"] == "cluster" and "nowhere" in error["message"]


def test_an_invalid_against_or_target_is_400(open_review: Review) -> None:
    assert get(open_review, "?against=yesterday").status_code == 400
    assert get(open_review, "?against=live&cluster=east&target=helm").status_code == 400


def test_live_adds_the_plan_from_the_fake_cluster(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    body = get(open_review, "?against=live&cluster=east&target=istio").json()
    assert body["base"]["cluster"] == "east"
    assert body["plan"]["error"] is None
    assert body["plan"]["summary"]["create"] == len(body["plan"]["objects"]) > 0


def test_a_dead_cluster_answers_200_with_the_plan_error_code(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    kill(planning_fake, ClusterUnreachable("timed out"))
    response = get(open_review, "?against=live&cluster=east&target=istio")
    assert response.status_code == 200
    body = response.json()
    assert body["plan"]["error"]["code"] == "CLUSTER-E001"
    assert body["reachability"]["counts"]["allowed"] > 0  # NB: the rest of the report does not wait for the cluster


def test_a_plan_waits_on_the_cluster_no_longer_than_a_connection_check(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    # when
    get(open_review, "?against=live&cluster=east&target=istio")
    # then: someone waits on this request, so a hung cluster holds it seconds, not the apply path's minutes
    assert planning_fake.retries == [CHECK_RETRY]  # type: ignore[attr-defined]
    assert CHECK_RETRY.attempts * (CHECK_RETRY.connect_timeout + CHECK_RETRY.read_timeout) <= 20


@pytest.mark.parametrize("role", [*ROLES, NO_ROLE])
def test_every_role_may_read_the_report_and_no_role_may_not(open_review: Review, role: str) -> None:
    assert get(open_review, role=role).status_code == (403 if role == NO_ROLE else 200)


def test_anonymous_is_refused(open_review: Review) -> None:
    assert APIClient().get(f"/api/v1/reviews/{open_review.pk}/diff/").status_code == 401


def test_an_unknown_review_is_404(open_review: Review) -> None:
    client = APIClient()
    client.force_authenticate(user_in_role(Role.VIEWER.value))
    assert client.get("/api/v1/reviews/999999/diff/").status_code == 404


def test_a_report_that_cannot_be_made_is_409_with_its_code(open_review: Review) -> None:
    expand_nothing(open_review)
    response = get(open_review)
    assert response.status_code == 409
    assert [error["code"] for error in errors_of(response)] == ["REVIEW_REPORT_UNAVAILABLE"]
