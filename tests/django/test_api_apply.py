"""``POST /api/v1/reviews/{id}/apply/`` answers 202 with the queued job; ``/api/v1/jobs/`` shows its progress."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from rest_framework.test import APIClient

from policies.core.review import Role
from policies.job_runner import run_apply_job
from policies.models import ApplyJob, Review
from tests.fixtures.api import codes_of, errors_of, send
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db(transaction=True)


def client_of(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def apply(client: APIClient, review: Review, body: dict[str, Any]) -> Any:
    return send(client, "post", f"/api/v1/reviews/{review.pk}/apply/", body)


def test_apply_answers_202_with_the_queued_job_and_the_job_shows_progress(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None
) -> None:
    client = client_of(operator)

    response = apply(client, approved_review, {"clusters": ["a", "b"], "target": "istio"})

    assert response.status_code == 202, response.content
    job = response.json()
    assert response["Location"] == job["url"] == f"/api/v1/jobs/{job['id']}/"
    assert (job["state"], job["dryRun"], job["target"], job["revision"]) == ("queued", False, "istio", 2)
    assert [(c["cluster"], c["state"], c["objects"]) for c in job["clusters"]] == [
        ("a", "queued", []),
        ("b", "queued", []),
    ]
    assert fake_clusters["a"].objects == {}  # NB: the request only queued it

    assert run_apply_job.call(job["id"]) == "succeeded"

    done = client.get(job["url"]).json()
    assert done["state"] == "succeeded"
    for row in done["clusters"]:
        assert row["state"] == "succeeded"
        assert row["counts"]["created"] == len(row["objects"]) == len(fake_clusters[row["cluster"]].objects)
        assert {o["outcome"] for o in row["objects"]} == {"created"}
    listed = client.get("/api/v1/jobs/", {"review": approved_review.pk}).json()
    assert [j["id"] for j in listed] == [job["id"]]
    assert "objects" not in listed[0]["clusters"][0]
    assert listed[0]["clusters"][0]["counts"] == done["clusters"][0]["counts"]


def test_one_cluster_and_a_dry_run(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    response = apply(client_of(operator), approved_review, {"cluster": "c", "target": "istio", "dryRun": True})

    assert response.status_code == 202, response.content
    assert ApplyJob.objects.get(pk=response.json()["id"]).dry_run is True
    assert fake_clusters["c"].objects == {}


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        ({"target": "istio"}, "required", "cluster"),
        ({"cluster": "a", "clusters": ["b"], "target": "istio"}, "required", "cluster"),
        ({"cluster": "a"}, "required", "target"),
        ({"cluster": "a", "target": "linkerd"}, "invalid_choice", "target"),
        ({"cluster": "nowhere", "target": "istio"}, "invalid", "cluster"),
        ({"clusters": ["a", "nowhere"], "target": "istio"}, "invalid", "clusters[1]"),
        ({"clusters": [], "target": "istio"}, "min_length", "clusters"),
        ({"cluster": "a", "target": "istio", "dryrun": True}, "unknown_field", "dryrun"),
    ],
)
def test_bad_bodies_are_400_naming_the_field(
    approved_review: Review, operator: Any, fake_clusters: Any, body: dict[str, Any], code: str, path: str
) -> None:
    response = apply(client_of(operator), approved_review, body)

    assert response.status_code == 400, response.content
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [(code, path)]
    assert ApplyJob.objects.count() == 0


def test_a_second_apply_to_a_busy_cluster_is_409_naming_the_running_job(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None
) -> None:
    first = apply(client_of(operator), approved_review, {"cluster": "a", "target": "istio"}).json()
    other = client_of(user_in_role(Role.OPERATOR.value, "second-operator"))

    response = apply(other, approved_review, {"clusters": ["b", "a"], "target": "istio"})

    assert response.status_code == 409
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("APPLY_RUNNING", "clusters")]
    assert f"#{first['id']}" in errors_of(response)[0]["message"]


def test_an_unapproved_review_is_409_and_a_role_without_the_right_403(
    open_review: Review, operator: Any, fake_clusters: Any
) -> None:
    assert codes_of(apply(client_of(operator), open_review, {"cluster": "a", "target": "istio"})) == [
        "INVALID_TRANSITION"
    ]
    viewer = client_of(user_in_role(Role.VIEWER.value))
    assert apply(viewer, open_review, {"cluster": "a", "target": "istio"}).status_code == 403
    assert apply(viewer, open_review, {"bogus": 1}).status_code == 403  # NB: refused before the body is read


def test_a_changed_revision_is_409_revision_changed(approved_review: Review, operator: Any, fake_clusters: Any) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE policies_policyrevision SET content_hash = %s WHERE id = %s",
            ["0" * 64, approved_review.revision_id],
        )

    response = apply(client_of(operator), approved_review, {"cluster": "a", "target": "istio"})

    assert response.status_code == 409
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("REVISION_CHANGED", "revision")]
    assert ApplyJob.objects.count() == 0


def test_the_job_list_takes_a_fixed_number_of_queries(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None, django_assert_max_num_queries: Any
) -> None:
    client = client_of(operator)
    for name in ("a", "b", "c"):
        assert apply(client, approved_review, {"cluster": name, "target": "istio", "dryRun": True}).status_code == 202
    for job in ApplyJob.objects.all():
        run_apply_job.call(job.pk)

    with django_assert_max_num_queries(6):
        listed = client.get("/api/v1/jobs/").json()

    assert [row["clusters"][0]["cluster"] for row in listed] == ["c", "b", "a"]
    assert all(row["clusters"][0]["counts"]["created"] > 0 for row in listed)  # NB: dry runs: all would be created
