"""Apply jobs against real kube-apiservers: an approved review applied to two clusters in parallel.

The first cluster is the session's control plane, the second one this module starts; both hold the
test's own namespaces. With the suite's PostgreSQL, the job is run by a real ``manage.py db_worker``
process. Then the outage: kube-apiserver killed in the middle of a job fails that cluster's
deployment with the error while the other cluster is applied; after a restart, a retry of the
failed cluster converges, and the cluster holds exactly the desired objects (nothing orphaned).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import pytest
from django.db import connection

from policies import jobs, reviews, services
from policies.cluster import apply as cluster_apply
from policies.cluster.diff import list_live
from policies.cluster.discovery import capabilities
from policies.core.document import policy_to_data
from policies.core.model import DEFAULT_POLICY_NAMESPACE
from policies.core.review import Role
from policies.management.commands.seed_demo import ensure_seed_gateway
from policies.models import ApplyJob, ApplyJobCluster, AuditEntry, Cluster, Deployment, Review
from tests.fixtures.cli import REPO
from tests.fixtures.cluster import PolicyNamespaces, _asm_crd_file, connect, merged_policy
from tests.fixtures.reviews import user_in_role

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def second_plane(tmp_path_factory: Any) -> Any:
    """Another kube-apiserver + etcd, so two clusters are really two."""
    from testenv.controlplane import ControlPlane

    plane = ControlPlane([_asm_crd_file(tmp_path_factory.mktemp("crds2"))])
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


def ensure_namespaces(plane: Any, *names: str) -> None:
    for name in names:
        status, body = plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
        assert status in (201, 409), body


@pytest.fixture
def two_clusters(apply_plane: Any, second_plane: Any, namespaces: PolicyNamespaces) -> list[Cluster]:
    """Stored clusters ``one`` and ``two``, each with the policies' namespace and the test's gateway namespace."""
    for plane in (apply_plane, second_plane):
        ensure_namespaces(plane, DEFAULT_POLICY_NAMESPACE, namespaces.gateway)
    return [
        Cluster.objects.create(name=name, kubeconfig_path=str(plane.kubeconfig_path), context="admin")
        for name, plane in (("one", apply_plane), ("two", second_plane))
    ]


@pytest.fixture
def approved(namespaces: PolicyNamespaces) -> Review:
    """Scenarios 2 and 4 merged into the policy of a gateway of the test's own (so its objects are the test's),
    submitted and approved."""
    gateway = ensure_seed_gateway(f"gw-{uuid.uuid4().hex[:8]}")
    gateway.namespace = namespaces.gateway
    gateway.save()
    author = user_in_role(Role.EDITOR.value, "author")
    document = policy_to_data(merged_policy("2", "4", name=gateway.policy_name))
    document["spec"]["byEgressGateway"]["name"] = gateway.name
    policy = services.create_policy(document, user=author)
    review = reviews.submit_review(policy, user=author)
    return reviews.approve_review(review, user=user_in_role(Role.APPROVER.value, "approver"))


def live_objects(plane: Any, review: Review) -> list[tuple[str, str, str]]:
    from policies.cluster.targets import policy_scope
    from policies.core.document import parse_policy_data

    api = connect(plane)
    scope = policy_scope(parse_policy_data(review.revision.document).policy)
    return sorted(list_live(api, caps=capabilities(api), scope=scope))


def worker_environment() -> dict[str, str]:
    """The environment of a worker process on this test's database (PostgreSQL's test database)."""
    settings = connection.settings_dict
    url = f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    return {**os.environ, "DATABASE_URL": url}


def test_a_real_worker_applies_an_approved_review_to_two_clusters(
    approved: Review, two_clusters: list[Cluster], apply_plane: Any, second_plane: Any
) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the worker process needs the suite's PostgreSQL: run through `make test`")
    operator = user_in_role(Role.OPERATOR.value, "operator")
    job = jobs.start_apply(approved, two_clusters, target="istio", dry_run=False, user=operator)

    worker = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload", "--interval", "0"],
        cwd=REPO,
        env=worker_environment(),
        capture_output=True,
        text=True,
        timeout=180,
    )

    assert worker.returncode == 0, worker.stderr
    job.refresh_from_db()
    assert job.state == "succeeded"
    assert {d.cluster.name: d.state for d in Deployment.objects.filter(review=approved)} == {
        "one": "applied",
        "two": "applied",
    }
    rows = ApplyJobCluster.objects.filter(job=job)
    for row, plane in zip(rows.order_by("cluster__name"), (apply_plane, second_plane), strict=True):
        outcomes = list(row.items.values_list("kind", "namespace", "name", "outcome"))
        assert {o for *_, o in outcomes} == {"created"}
        assert live_objects(plane, approved) == sorted((k, ns, n) for k, ns, n, _ in outcomes)
    assert AuditEntry.objects.filter(action="review.apply", cluster__in=["one", "two"]).count() == 2


def test_apiserver_killed_mid_job_fails_that_cluster_and_a_retry_converges(
    approved: Review,
    two_clusters: list[Cluster],
    apply_plane: Any,
    second_plane: Any,
    monkeypatch: pytest.MonkeyPatch,
    settings: Any,
) -> None:
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    operator = user_in_role(Role.OPERATOR.value, "operator")
    real_apply = cluster_apply.apply_objects

    def apply_then_kill_plane_one(api: Any, **kwargs: Any) -> Any:
        if api.identity.startswith("cluster:one:"):
            written: list[Any] = []
            report = kwargs["progress"]

            def kill_after_two(outcome: Any) -> None:
                report(outcome)
                written.append(outcome)
                if len(written) == 2:
                    apply_plane.kill_apiserver()

            kwargs["progress"] = kill_after_two
        return real_apply(api, **kwargs)

    monkeypatch.setattr("policies.job_runner.apply_objects", apply_then_kill_plane_one)
    try:
        job = jobs.start_apply(approved, two_clusters, target="istio", dry_run=False, user=operator)
    finally:
        apply_plane.start_apiserver()

    job = ApplyJob.objects.get(pk=job.pk)
    assert job.state == "failed"
    one = ApplyJobCluster.objects.get(job=job, cluster__name="one")
    assert (one.state, one.error_code) == ("failed", "CLUSTER-E001")
    outcomes = list(one.items.order_by("position").values_list("outcome", flat=True))
    # NB: the cluster layer writes several objects at once, so more than one may have been in flight
    written = outcomes.count("created")
    assert written >= 2 and "failed" in outcomes and set(outcomes) <= {"created", "failed", "skipped"}
    failed = Deployment.objects.get(review=approved, cluster__name="one")
    assert failed.state == "failed" and failed.error.startswith("CLUSTER-E001: ")
    assert Deployment.objects.get(review=approved, cluster__name="two").state == "applied"

    monkeypatch.setattr("policies.job_runner.apply_objects", real_apply)
    retry = jobs.start_apply(approved, two_clusters[:1], target="istio", dry_run=False, user=operator)

    retried = ApplyJobCluster.objects.get(job=retry)
    assert retried.state == "succeeded"
    outcomes = list(retried.items.order_by("position").values_list("outcome", flat=True))
    assert (outcomes.count("unchanged"), set(outcomes)) == (written, {"unchanged", "created"})
    assert Deployment.objects.get(review=approved, cluster__name="one").state == "applied"
    wanted = sorted(retried.items.values_list("kind", "namespace", "name"))
    assert live_objects(apply_plane, approved) == [tuple(w) for w in wanted]
    assert live_objects(second_plane, approved) == [tuple(w) for w in wanted]
