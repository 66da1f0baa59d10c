"""Apply jobs through the service: the checks before enqueueing, every cluster run, progress and outcomes
stored per object, deployments and audit entries per cluster, dry runs that change nothing, one apply at a time."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from policies import jobs, reviews
from policies.cluster.errors import ClusterUnreachable
from policies.core.review import Role
from policies.job_runner import run_apply_job
from policies.models import ApplyJob, ApplyJobCluster, AuditEntry, Cluster, Deployment, Review
from tests.fixtures.cli import egress
from tests.fixtures.reviews import edit_port, user_in_role

pytestmark = pytest.mark.django_db(transaction=True)


def clusters(*names: str) -> list[Cluster]:
    return jobs.resolve_clusters(names)


def outcomes(job: ApplyJob, cluster: str) -> list[tuple[str, str]]:
    row = ApplyJobCluster.objects.get(job=job, cluster__name=cluster)
    return [(item.kind, item.outcome) for item in row.items.order_by("position")]


def test_an_approved_review_is_applied_to_every_cluster(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    job = jobs.start_apply(approved_review, clusters("a", "b", "c"), target="istio", dry_run=False, user=operator)

    job.refresh_from_db()
    assert job.state == "succeeded"
    for name in ("a", "b", "c"):
        assert {outcome for _kind, outcome in outcomes(job, name)} == {"created"}
        assert len(fake_clusters[name].objects) == len(outcomes(job, name))
    assert {d.cluster.name: d.state for d in Deployment.objects.all()} == {
        "a": "applied",
        "b": "applied",
        "c": "applied",
    }
    assert Review.objects.get(pk=approved_review.pk).state == "applied"
    applied = AuditEntry.objects.filter(action="review.apply").order_by("cluster")
    assert [(e.cluster, e.target, e.result["job"], e.result["created"]) for e in applied] == [
        (name, "istio", job.pk, len(outcomes(job, name))) for name in ("a", "b", "c")
    ]
    assert AuditEntry.objects.get(action="review.apply_start").result == {"job": job.pk}


def test_a_dry_run_stores_the_plan_with_field_changes_and_changes_nothing(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=False, user=operator)
    key, drifted = next((k, o) for k, o in fake_clusters["a"].objects.items() if o["kind"] == "ServiceEntry")
    wanted = list(drifted["spec"]["hosts"])
    drifted["spec"]["hosts"] = ["drifted.example.com"]
    deployments = list(Deployment.objects.values_list("cluster__name", "state", "updated_at"))

    job = jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=True, user=operator)

    assert ApplyJob.objects.get(pk=job.pk).state == "succeeded"
    assert fake_clusters["a"].objects[key]["spec"]["hosts"] == ["drifted.example.com"]
    row = ApplyJobCluster.objects.get(job=job)
    planned = row.items.get(kind="ServiceEntry", name=key[3])
    assert planned.outcome == "configured"
    assert planned.changes == [{"op": "change", "path": "spec.hosts", "old": ["drifted.example.com"], "new": wanted}]
    assert set(row.items.exclude(pk=planned.pk).values_list("outcome", flat=True)) == {"unchanged"}
    assert list(Deployment.objects.values_list("cluster__name", "state", "updated_at")) == deployments
    assert Review.objects.get(pk=approved_review.pk).state == "applied"


def test_a_dry_run_writes_an_audit_entry_per_cluster_with_its_plan(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    fake_clusters["b"].fail("list", "ServiceEntry", ClusterUnreachable("connection refused"))

    job = jobs.start_apply(approved_review, clusters("a", "b"), target="istio", dry_run=True, user=operator)

    planned = {e.cluster: e for e in AuditEntry.objects.filter(action="review.dry_run")}
    assert set(planned) == {"a", "b"}
    entry, created = planned["a"], len(outcomes(job, "a"))
    assert (entry.actor, entry.target, entry.revision_number) == ("operator", "istio", approved_review.revision.number)
    assert entry.policy_id == approved_review.policy_id and len(entry.manifests) == created > 0
    assert entry.result == {
        "job": job.pk,
        "state": "succeeded",
        **{"created": created, "configured": 0, "unchanged": 0, "pruned": 0, "failed": 0, "skipped": 0},
    }
    assert planned["b"].result["state"] == "failed" and "connection refused" in planned["b"].result["error"]
    assert not AuditEntry.objects.filter(action__in=["review.apply_start", "review.apply", "review.fail"]).exists()
    # the chain still verifies, and the audit API's action filter finds the dry runs
    assert egress("audit", "verify")[0] == 0
    client = APIClient()
    client.force_authenticate(operator)
    listed = client.get("/api/v1/audit/", {"action": "review.dry_run"}).json()
    assert sorted(e["cluster"] for e in listed) == ["a", "b"]


def test_a_dry_run_refused_by_the_review_contacts_no_cluster_and_writes_no_entry(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None
) -> None:
    job = jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=True, user=operator)
    edit_port(approved_review.policy, 91, approved_review.author)
    reviews.submit_review(approved_review.policy, user=approved_review.author)  # NB: superseded while queued

    run_apply_job.call(job.pk)

    assert ApplyJobCluster.objects.get(job=job).error_code == "INVALID_TRANSITION"
    assert not AuditEntry.objects.filter(action="review.dry_run").exists()


def test_an_unreachable_cluster_fails_alone_and_a_retry_converges(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    fake_clusters["b"].fail("list", "ServiceEntry", ClusterUnreachable("connection refused"))

    job = jobs.start_apply(approved_review, clusters("a", "b"), target="istio", dry_run=False, user=operator)

    assert ApplyJob.objects.get(pk=job.pk).state == "failed"
    failed = ApplyJobCluster.objects.get(job=job, cluster__name="b")
    assert (failed.state, failed.error_code) == ("failed", "CLUSTER-E001")
    assert {d.cluster.name: d.state for d in Deployment.objects.all()} == {"a": "applied", "b": "failed"}
    assert "connection refused" in Deployment.objects.get(cluster__name="b").error

    fake_clusters["b"].failures.clear()
    retry = jobs.start_apply(approved_review, clusters("b"), target="istio", dry_run=False, user=operator)

    assert ApplyJob.objects.get(pk=retry.pk).state == "succeeded"
    assert Deployment.objects.get(cluster__name="b").state == "applied"


def test_a_second_apply_while_one_is_queued_is_refused_naming_it(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None
) -> None:
    first = jobs.start_apply(approved_review, clusters("a", "b"), target="istio", dry_run=False, user=operator)

    with pytest.raises(jobs.ApplyRunning) as refused:
        jobs.start_apply(approved_review, clusters("c", "b"), target="istio", dry_run=False, user=operator)

    assert (refused.value.status, refused.value.code, refused.value.job_id) == (409, "APPLY_RUNNING", first.pk)
    assert f"#{first.pk}" in refused.value.message
    assert ApplyJob.objects.count() == 1  # NB: nothing of the refused request is left, not even cluster c
    dry = jobs.start_apply(approved_review, clusters("b"), target="istio", dry_run=True, user=operator)
    assert dry.pk != first.pk  # NB: a dry run writes nothing and never waits for an apply

    assert run_apply_job.call(first.pk) == "succeeded"
    jobs.start_apply(approved_review, clusters("b"), target="istio", dry_run=False, user=operator)


@pytest.mark.parametrize(
    ("prepare", "code", "status"),
    [
        ("open", "INVALID_TRANSITION", 409),
        ("withdrawn", "INVALID_TRANSITION", 409),
        ("superseded", "INVALID_TRANSITION", 409),
        ("editor", "permission_denied", 403),
    ],
)
def test_refusals_come_before_anything_is_queued(
    open_review: Review, fake_clusters: Any, database_tasks: None, prepare: str, code: str, status: int
) -> None:
    user = user_in_role(Role.OPERATOR.value, "operator")
    if prepare != "open":
        reviews.approve_review(open_review, user=user_in_role(Role.APPROVER.value, "approver"))
    if prepare == "withdrawn":
        reviews.withdraw_review(open_review, user=open_review.author)
    if prepare == "superseded":
        edit_port(open_review.policy, 90, open_review.author)
        reviews.submit_review(open_review.policy, user=open_review.author)
    if prepare == "editor":
        user = open_review.author

    with pytest.raises(reviews.ReviewRefused) as refused:
        jobs.start_apply(Review.objects.get(pk=open_review.pk), clusters("a"), target="istio", dry_run=False, user=user)

    assert (refused.value.code, refused.value.status) == (code, status)
    assert ApplyJob.objects.count() == 0


def test_an_apply_whose_worker_stopped_reporting_no_longer_holds_the_cluster(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None, settings: Any
) -> None:
    settings.EGRESS_APPLY_ABANDONED_AFTER = 60
    lost = jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=False, user=operator)
    ApplyJobCluster.objects.filter(job=lost).update(state="running", updated_at=timezone.now() - timedelta(seconds=30))
    with pytest.raises(jobs.ApplyRunning):  # NB: still reporting recently: it holds the cluster
        jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=False, user=operator)

    ApplyJobCluster.objects.filter(job=lost).update(updated_at=timezone.now() - timedelta(seconds=61))
    fresh = jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=False, user=operator)

    assert fresh.pk != lost.pk
    row = ApplyJobCluster.objects.get(job=lost)
    assert (row.state, row.error_code, ApplyJob.objects.get(pk=lost.pk).state) == ("failed", "WORKER_LOST", "failed")


def test_an_apply_no_worker_took_up_no_longer_holds_the_cluster_and_is_never_run(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None, settings: Any
) -> None:
    # Given: an apply queued a minute ago, when no worker was running
    settings.EGRESS_APPLY_ABANDONED_AFTER = 60
    waiting = jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=False, user=operator)
    with pytest.raises(jobs.ApplyRunning):  # NB: queued recently: a worker may still take it
        jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=False, user=operator)
    ApplyJob.objects.filter(pk=waiting.pk).update(created_at=timezone.now() - timedelta(seconds=61))

    # When: an operator applies again
    fresh = jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=False, user=operator)

    # Then: the waiting one is failed with the reason, and a worker starting late does not run it
    row = ApplyJobCluster.objects.get(job=waiting)
    assert (row.state, row.error_code, ApplyJob.objects.get(pk=waiting.pk).state) == ("failed", "NO_WORKER", "failed")
    assert run_apply_job.call(waiting.pk) == "not queued"
    assert run_apply_job.call(fresh.pk) == "succeeded" and len(fake_clusters["a"].objects) > 0


def test_a_review_superseded_while_its_job_was_queued_is_not_applied(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None
) -> None:
    job = jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=False, user=operator)
    edit_port(approved_review.policy, 91, approved_review.author)
    reviews.submit_review(approved_review.policy, user=approved_review.author)

    assert run_apply_job.call(job.pk) == "failed"

    row = ApplyJobCluster.objects.get(job=job)
    assert (row.state, row.error_code) == ("failed", "INVALID_TRANSITION")
    assert fake_clusters["a"].objects == {} and Deployment.objects.count() == 0
    assert run_apply_job.call(job.pk) == "not queued"  # NB: a task delivered twice runs the job once


def test_operators_read_apply_jobs_in_the_django_admin_and_nobody_edits_them(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    # Given: a finished apply
    job = jobs.start_apply(approved_review, clusters("a"), target="istio", dry_run=False, user=operator)
    staff, viewer = Client(), Client()
    staff.force_login(operator)
    viewer.force_login(user_in_role(Role.VIEWER.value, "viewer"))

    # When
    listed = staff.get("/admin/policies/applyjob/?state=succeeded").content.decode()
    page = staff.get(f"/admin/policies/applyjob/{job.pk}/change/").content.decode()

    # Then: listed with a link to its console page, each cluster shown read-only; no add, no delete
    assert f'href="/jobs/{job.pk}/"' in listed
    clusters_group = page.split('id="clusters-group"')[1].split("</fieldset>")[0]
    assert "Apply job clusters" in clusters_group and "succeeded" in clusters_group
    assert 'name="_save"' not in page and "/delete/" not in page
    assert staff.get("/admin/policies/applyjob/add/").status_code == 403
    assert staff.post(f"/admin/policies/applyjob/{job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert viewer.get("/admin/policies/applyjob/").status_code == 403
