"""The console's apply: the panel decides what the user may do, the form starts a job (redirect or JSON),
the job page and its progress JSON show every cluster's objects."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.template.loader import render_to_string
from django.test import Client, RequestFactory
from django.utils import timezone

from policies.core.review import Role
from policies.models import ApplyJob, Review
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db(transaction=True)


def panel(review: Review, user: Any) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string("policies/includes/apply_panel.html", {"review": review}, request=request)


def signed_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_panel_offers_the_approved_review_to_an_operator_only(
    approved_review: Review, operator: Any, fake_clusters: Any
) -> None:
    html = panel(approved_review, operator)
    assert 'data-testid="apply-panel"' in html and 'data-testid="apply-button"' in html
    assert all(f'<option value="{name}">' in html for name in "abc")
    assert panel(approved_review, user_in_role(Role.VIEWER.value)).strip() == ""
    assert panel(approved_review, user_in_role(Role.APPROVER.value)).strip() == ""


def test_the_panel_explains_why_an_open_review_cannot_be_applied(
    open_review: Review, operator: Any, fake_clusters: Any
) -> None:
    html = panel(open_review, operator)
    assert 'data-testid="apply-reason"' in html and "only an approved revision can be applied" in html
    assert 'data-testid="apply-button"' not in html


def test_the_form_starts_a_job_and_redirects_to_its_page(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    client = signed_in(operator)

    response = client.post(f"/reviews/{approved_review.pk}/apply/", {"clusters": ["a", "b"], "target": "istio"})

    job = ApplyJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert page.count('data-testid="job-cluster"') == 2
    assert 'data-state="succeeded"' in page and 'data-outcome="created"' in page
    progress = client.get(f"/jobs/{job.pk}/progress/").json()
    assert (progress["state"], progress["done"], [c["cluster"] for c in progress["clusters"]]) == (
        "succeeded",
        True,
        ["a", "b"],
    )
    assert progress["clusters"][0]["counts"]["created"] == len(progress["clusters"][0]["objects"]) > 0
    assert panel(Review.objects.get(pk=approved_review.pk), operator).count('data-testid="job-progress"') == 1


def test_the_script_gets_json_and_a_refusal_keeps_its_code(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None
) -> None:
    client = signed_in(operator)
    json = {"HTTP_ACCEPT": "application/json"}

    started = client.post(f"/reviews/{approved_review.pk}/apply/", {"clusters": ["a"], "target": "istio"}, **json)
    again = client.post(f"/reviews/{approved_review.pk}/apply/", {"clusters": ["a"], "target": "istio"}, **json)
    bad = client.post(f"/reviews/{approved_review.pk}/apply/", {"target": "istio"}, **json)

    job = ApplyJob.objects.get()
    assert (started.status_code, started.json()) == (
        202,
        {"job": job.pk, "page": f"/jobs/{job.pk}/", "progress": f"/jobs/{job.pk}/progress/"},
    )
    assert again.status_code == 409 and again.json()["errors"][0]["code"] == "APPLY_RUNNING"
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "clusters"


def test_a_job_no_worker_takes_up_says_what_to_check(
    approved_review: Review, operator: Any, fake_clusters: Any, database_tasks: None
) -> None:
    # Given: a job queued while no worker runs
    client = signed_in(operator)
    client.post(f"/reviews/{approved_review.pk}/apply/", {"clusters": ["a"], "target": "istio"})
    job = ApplyJob.objects.get()
    fresh = client.get(f"/jobs/{job.pk}/progress/").json()["waitingNote"]

    # When: it has waited 40 s
    ApplyJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(seconds=40))

    # Then: the page and the progress JSON say so, and what to do
    assert fresh == ""
    note = client.get(f"/jobs/{job.pk}/progress/").json()["waitingNote"]
    assert "db_worker" in note and "40 s" in note and "15 min" in note
    assert 'data-testid="job-waiting"' in client.get(f"/jobs/{job.pk}/").content.decode()


def test_a_failed_cluster_offers_a_retry_of_just_that_cluster(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    from policies.cluster.errors import ClusterUnreachable

    fake_clusters["b"].fail("list", "ServiceEntry", ClusterUnreachable("connection refused"))
    client = signed_in(operator)
    client.post(f"/reviews/{approved_review.pk}/apply/", {"clusters": ["a", "b"], "target": "istio"})
    job = ApplyJob.objects.get()

    page = client.get(f"/jobs/{job.pk}/").content.decode()

    assert 'data-testid="retry-form"' in page and '<input type="hidden" name="clusters" value="b">' in page
    assert 'name="clusters" value="a"' not in page
    assert "CLUSTER-E001" in page
    assert (
        'data-testid="retry-form"'
        not in signed_in(user_in_role(Role.VIEWER.value)).get(f"/jobs/{job.pk}/").content.decode()
    )


def test_the_job_page_puts_its_description_under_its_title(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    client = signed_in(operator)
    client.post(f"/reviews/{approved_review.pk}/apply/", {"clusters": ["a"], "target": "istio"})
    job = ApplyJob.objects.get()

    page = client.get(f"/jobs/{job.pk}/").content.decode()

    header = page.split('<div class="page-header">', 1)[1].split("</div>", 1)[0]
    assert header.lstrip().startswith("<div>")  # NB: .page-header is a flex row; the title block is one item
    assert "<h1>" in header and 'class="page-desc"' in header
    assert 'data-testid="job-link"' not in page  # NB: the job page does not link to itself


def test_the_panel_links_its_latest_job_and_lists_it_with_what_the_script_needs(
    approved_review: Review, operator: Any, fake_clusters: Any, immediate_tasks: None
) -> None:
    before = panel(approved_review, operator)
    assert '<div data-role="recent-jobs" hidden>' in before  # NB: there for the script to fill, not shown empty
    client = signed_in(operator)
    client.post(f"/reviews/{approved_review.pk}/apply/", {"clusters": ["a"], "target": "istio", "dry_run": "on"})
    job = ApplyJob.objects.select_related("user").get()

    html = panel(Review.objects.get(pk=approved_review.pk), operator)
    progress = client.get(f"/jobs/{job.pk}/progress/").json()

    assert f'<a href="/jobs/{job.pk}/" data-testid="job-link">Job #{job.pk}</a>' in html
    assert f'data-job-page="/jobs/{job.pk}/"' in html and 'data-job-title="Job #{id}"' in html
    assert '<div data-role="recent-jobs">' in html and f'<li data-job="{job.pk}">' in html
    assert (progress["user"], progress["dryRun"]) == ("operator", True)
    assert progress["created"] == job.created_at.astimezone(ZoneInfo(settings.TIME_ZONE)).strftime("%Y-%m-%d %H:%M")
