"""Apply outcomes per cluster: only an approved, unchanged revision; applied or failed per cluster; retry."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from policies import reviews
from policies.core.review import Role
from policies.models import AuditEntry, Cluster, Deployment, Review
from tests.fixtures.reviews import edit_port, user_in_role

pytestmark = pytest.mark.django_db

MANIFESTS = [{"apiVersion": "networking.istio.io/v1", "kind": "ServiceEntry", "metadata": {"name": "e"}}]


def cluster(name: str) -> Cluster:
    return Cluster.objects.create(name=name, kubeconfig_path="/k", context=name)


def outcome(review: Review, where: Cluster, user: Any, succeeded: bool, error: str = "") -> Deployment:
    return reviews.record_apply_outcome(
        review, where, user=user, succeeded=succeeded, target="istio", manifests=MANIFESTS, result={}, error=error
    )


def test_an_open_review_cannot_be_applied(open_review: Review, operator: Any) -> None:
    with pytest.raises(reviews.ReviewRefused) as refused:
        reviews.check_applicable(open_review, cluster("a"), user=operator)
    assert (refused.value.code, refused.value.status) == ("INVALID_TRANSITION", 409)


def test_only_the_operator_role_applies(approved_review: Review) -> None:
    with pytest.raises(reviews.ReviewRefused) as refused:
        reviews.check_applicable(approved_review, cluster("a"), user=user_in_role(Role.EDITOR.value))
    assert (refused.value.code, refused.value.status) == ("permission_denied", 403)


def test_a_revision_changed_behind_the_models_back_cannot_be_applied(approved_review: Review, operator: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE policies_policyrevision SET document = %s WHERE id = %s",
            [
                '{"apiVersion": "istio.alibabacloud.com/v1", "kind": "ASMEgressTrafficPolicy", '
                '"metadata": {"name": "egress-by-egressgateway", "namespace": "istio-egress"}, '
                '"spec": {"byEgressGateway": {"name": "egressgateway"}, "egressRules": []}}',
                approved_review.revision_id,
            ],
        )
    with pytest.raises(reviews.RevisionChanged) as refused:
        reviews.check_applicable(Review.objects.get(pk=approved_review.pk), cluster("a"), user=operator)
    assert (refused.value.code, refused.value.status, refused.value.path) == ("REVISION_CHANGED", 409, "revision")


def test_outcomes_are_kept_per_cluster_and_a_failure_can_be_retried(approved_review: Review, operator: Any) -> None:
    a, b = cluster("a"), cluster("b")
    reviews.check_applicable(approved_review, a, user=operator)
    outcome(approved_review, a, operator, True)
    outcome(approved_review, b, operator, False, error="apiserver unreachable")
    assert {d.cluster.name: (d.state, d.error) for d in Deployment.objects.all()} == {
        "a": ("applied", ""),
        "b": ("failed", "apiserver unreachable"),
    }
    outcome(approved_review, b, operator, True)
    assert Deployment.objects.get(cluster=b).state == "applied"
    entry = AuditEntry.objects.filter(action="review.fail").get()
    assert (entry.cluster, entry.target, entry.manifests, entry.result) == (
        "b",
        "istio",
        MANIFESTS,
        {"state": "failed", "error": "apiserver unreachable"},
    )


def test_a_superseded_review_cannot_be_applied(approved_review: Review, operator: Any) -> None:
    edit_port(approved_review.policy, 85, approved_review.author)
    reviews.submit_review(approved_review.policy, user=approved_review.author)
    with pytest.raises(reviews.ReviewRefused) as refused:
        outcome(Review.objects.get(pk=approved_review.pk), cluster("a"), operator, True)
    assert refused.value.code == "INVALID_TRANSITION"
    assert Deployment.objects.count() == 0
