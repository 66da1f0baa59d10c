"""The review report: reachability change first, summary, CR and Istio diffs, against applied or empty; the plan
against a cluster's live state through the fake cluster (cached by content, refreshable, a dead cluster an error)."""

from __future__ import annotations

from typing import Any

import pytest

from policies import review_plan, review_report, reviews
from policies.cluster.errors import ClusterUnreachable
from policies.cluster.fake import FakeClusterApi
from policies.models import ApplyRecord, Cluster, Review
from tests.fixtures.review_plans import expand_nothing, kill
from tests.fixtures.reviews import edit_port

pytestmark = pytest.mark.django_db


def applied(review: Review, east: Cluster, number: int) -> None:
    """Record that revision ``number`` of the review's policy was applied to ``cluster`` (as the CLI records it)."""
    revision = review.policy.revisions.get(number=number)
    ApplyRecord.objects.create(
        cluster=east,
        policy=review.policy,
        revision=revision,
        policy_name=review.policy.name,
        policy_namespace=review.policy.namespace,
        action=ApplyRecord.Action.APPLY,
        succeeded=True,
    )


def report_of(review: Review, **kwargs: Any) -> review_report.ReviewReport:
    return review_report.build_report(review_report.report_queryset().get(pk=review.pk), **kwargs)


def test_with_nothing_applied_the_base_is_the_empty_policy_and_everything_is_new(open_review: Review) -> None:
    report = report_of(open_review)
    assert report.base.revision is None
    assert report.reachability.counts()["allowed"] > 0
    assert report.reachability.counts()["blocked"] == 0
    assert {item.status for item in report.diffs.objects} == {"added"}
    assert report.diffs.cr.removed == 0 and report.diffs.cr.added > 10


def test_against_the_applied_revision_the_port_change_is_what_changes(open_review: Review, east: Cluster) -> None:
    applied(open_review, east, 1)
    report = report_of(open_review, cluster=east)
    assert report.base.revision is not None and report.base.revision.number == 1
    assert [change.kind for change in report.summary] == ["port_changed"]
    assert "80 → 81" in report.summary[0].message
    changed = {(o.kind, o.status) for o in report.diffs.objects if o.status != "unchanged"}
    assert changed and all(status == "changed" for _kind, status in changed)
    assert [row.kind for row in report.diffs.cr.rows].count("replace") == 1
    data = report.as_dict(str)
    assert list(data)[:4] == ["review", "base", "meshMode", "reachability"]


def test_the_reachability_change_shows_the_moved_port(open_review: Review, east: Cluster) -> None:
    applied(open_review, east, 1)
    changes = report_of(open_review, cluster=east).reachability.as_dict(str)["changes"]
    urls = {(change["url"], change["direction"]) for change in changes}
    assert any(url.endswith(":81/") and direction == "allowed" for url, direction in urls), urls
    assert any(direction == "blocked" for _url, direction in urls), urls


def test_without_a_cluster_the_latest_revision_applied_anywhere_is_the_base(open_review: Review, east: Cluster) -> None:
    other = Cluster.objects.create(name="west", kubeconfig_path="/k", context="west")
    applied(open_review, east, 1)
    applied(open_review, other, 2)
    assert report_of(open_review).base.revision.number == 2  # type: ignore[union-attr]
    assert report_of(open_review, cluster=east).base.revision.number == 1  # type: ignore[union-attr]


def test_a_rollback_review_names_the_revision_it_restores(open_review: Review, author: Any) -> None:
    reviews.withdraw_review(open_review, user=author)
    reviews.restore_revision(open_review.policy, 1, user=author)
    rollback = reviews.submit_review(open_review.policy, user=author, message="back to 80")
    data = report_of(rollback).as_dict(str)
    assert data["review"]["restores"] == 1


def test_the_plan_against_live_counts_creates_and_field_changes(
    open_review: Review, east: Cluster, planning_fake
) -> None:
    first = review_plan.review_plan(open_review, east, target="istio")
    assert first["error"] is None and first["cached"] is False
    assert first["summary"]["create"] == len(first["objects"]) > 0
    assert {o["action"] for o in first["objects"]} == {"create"}


def test_the_plan_shows_field_level_changes_against_what_is_live(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi, author: Any
) -> None:
    # given revision 1 (port 80) live on the cluster
    reviews.withdraw_review(open_review, user=author)
    reviews.restore_revision(open_review.policy, 1, user=author)
    live = reviews.submit_review(open_review.policy, user=author)
    for item in review_plan.review_plan(live, east, target="istio")["objects"]:
        assert item["action"] == "create"
    _apply_everything(live, planning_fake)
    # when the port-81 revision is planned
    edit_port(open_review.policy, 81, author)
    reviews.withdraw_review(live, user=author)
    proposed = reviews.submit_review(open_review.policy, user=author)
    plan = review_plan.review_plan(proposed, east, target="istio")
    # then some objects change, with the port among their changed fields
    assert plan["summary"]["change"] > 0, plan["summary"]
    paths = [c["path"] for o in plan["objects"] for c in o["changes"]]
    assert any("number" in path or "port" in path for path in paths), paths
    # and against what is live, port 81 newly passes and port 80 is newly blocked
    live_changes = {(c["url"], c["direction"]) for c in plan["liveReachability"]["changes"]}
    assert any(url.endswith(":81/") and way == "allowed" for url, way in live_changes), live_changes
    assert any(way == "blocked" for _url, way in live_changes), live_changes


def test_against_live_a_cluster_that_lost_its_objects_shows_everything_newly_allowed(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    # given revision 1 recorded as applied to east, but nothing of it live there (deleted by hand)
    applied(open_review, east, 1)
    report = report_of(open_review, cluster=east)
    plan = review_plan.review_plan(open_review, east, target="istio")
    # then the revision-to-revision change is the port move, but against live every request is new
    live = plan["liveReachability"]
    assert live["counts"]["blocked"] == 0 and live["counts"]["allowed"] > report.reachability.counts()["allowed"]


def _apply_everything(review: Review, api: FakeClusterApi) -> None:
    from policies.cluster.apply import apply_objects  # NB: the cluster layer's own apply, as a real apply would.
    from policies.cluster.discovery import capabilities
    from policies.cluster.targets import desired_state
    from policies.core.model import EgressPolicy as PolicyModel

    policy = PolicyModel.model_validate(review.revision.document)
    state = desired_state(policy, capabilities(api), target="istio", gateway=review.policy.gateway.describe())
    result = apply_objects(api, desired=state.objects, scope=state.scope)
    assert result.ok


def test_a_plan_is_served_from_the_cache_until_refreshed(open_review: Review, east: Cluster, planning_fake) -> None:
    review_plan.review_plan(open_review, east, target="istio")
    calls = len(planning_fake.requests)
    again = review_plan.review_plan(open_review, east, target="istio")
    assert again["cached"] is True and len(planning_fake.requests) == calls
    refreshed = review_plan.review_plan(open_review, east, target="istio", refresh=True)
    assert refreshed["cached"] is False and len(planning_fake.requests) > calls


def test_a_dead_cluster_is_a_clear_error_with_its_code_and_not_cached(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    kill(planning_fake, ClusterUnreachable("connection refused by 10.0.0.1:6443"))
    plan = review_plan.review_plan(open_review, east, target="istio")
    assert plan["error"]["code"] == "CLUSTER-E001"
    assert "connection refused" in plan["error"]["message"]
    planning_fake.failures.clear()
    assert review_plan.review_plan(open_review, east, target="istio")["error"] is None


def test_a_cluster_whose_kubeconfig_is_missing_is_an_error_not_an_exception(open_review: Review, east: Cluster) -> None:
    plan = review_plan.review_plan(open_review, east)
    assert plan["error"]["code"] == "CLUSTER-E011"


def test_the_reachability_change_is_simulated_in_the_clusters_outbound_mode(open_review: Review, east: Cluster) -> None:
    assert (report_of(open_review, cluster=east).mesh_mode_source, report_of(open_review).mesh_mode) == (
        "default",
        "REGISTRY_ONLY",
    )
    Cluster.objects.filter(pk=east.pk).update(outbound_mode="ALLOW_ANY")
    report = report_of(open_review, cluster=Cluster.objects.get(pk=east.pk))
    assert (report.mesh_mode, report.mesh_mode_source) == ("ALLOW_ANY", "cluster")
    registry_only = report_of(open_review).reachability.as_dict(str)["changes"]
    # NB: under ALLOW_ANY a request the policy does not route passes through to its host instead of a 502
    assert report.reachability.as_dict(str)["changes"] != registry_only


def test_a_revision_that_no_longer_expands_is_a_clear_refusal(open_review: Review) -> None:
    # given a stored revision that no longer expands (changed behind the models' back)
    expand_nothing(open_review)
    # then the report refuses with a stable code instead of failing
    with pytest.raises(review_report.ReportUnavailable) as refused:
        report_of(open_review)
    assert refused.value.code == "REVIEW_REPORT_UNAVAILABLE" and refused.value.status == 409


def test_the_plan_of_a_revision_that_no_longer_validates_is_an_error_not_an_exception(
    open_review: Review, east: Cluster, planning_fake: FakeClusterApi
) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE policies_policyrevision SET document = %s WHERE id = %s", ['{"spec": 1}', open_review.revision_id]
        )
    plan = review_plan.review_plan(review_report.report_queryset().get(pk=open_review.pk), east, target="istio")
    assert plan["error"]["code"] == "REVIEW_REPORT_UNAVAILABLE"


def test_live_service_entries_give_a_url_per_host_and_port_without_wildcards() -> None:
    from policies.review_live import service_entry_urls

    entry = {
        "kind": "ServiceEntry",
        "spec": {
            "hosts": ["a.example.com", "*.example.com"],
            "ports": [{"number": 80, "protocol": "HTTP"}, {"number": 8443, "protocol": "TLS"}],
        },
    }
    assert service_entry_urls([entry, {"kind": "VirtualService", "spec": {"hosts": ["b.example.com"]}}]) == [
        "http://a.example.com/",
        "https://a.example.com:8443/",
    ]
