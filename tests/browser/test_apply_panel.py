"""The apply panel in a real browser: an operator starts a dry run, then an apply, from the review page and
watches each cluster's objects go from pending to their outcome without reloading; the job page agrees."""

from __future__ import annotations

from typing import Any

import pytest

from policies.job_runner import run_apply_job
from policies.models import ApplyJob, Review
from tests.browser import pages
from tests.browser.conftest import PASSWORD
from tests.fixtures.jobs import DATABASE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def start(page: Any, clusters: list[str], *, dry_run: bool) -> None:
    """Choose the clusters and the target in the panel and press Start."""
    panel = page.locator("[data-testid=apply-panel]")
    panel.locator("[data-testid=apply-clusters]").select_option(clusters)
    panel.locator("[data-testid=apply-target]").select_option("istio")
    panel.locator("[data-testid=apply-dry-run]").set_checked(dry_run)
    panel.locator("[data-testid=apply-button]").click()


def test_an_operator_applies_from_the_review_page_and_watches_the_progress(
    page: Any, approved_review: Review, fake_clusters: Any, settings: Any
) -> None:
    settings.TASKS = DATABASE  # NB: the job waits for the "worker" below, so the page sees it queued first
    from tests.fixtures.reviews import user_in_role

    operator = user_in_role("operator", "op")
    operator.set_password(PASSWORD)
    operator.save()
    pages.sign_in(page, "op", PASSWORD)
    page.goto(f"/reviews/{approved_review.pk}/")

    # when the operator starts a dry run on two clusters, the panel shows the job queued, objects not listed yet
    start(page, ["a", "b"], dry_run=True)
    progress = page.locator("[data-role=job-progress] [data-testid=job-progress]")
    progress.wait_for()
    assert progress.get_attribute("data-state") == "queued"
    # and once the worker ran it, the page shows the plan per cluster without a reload
    run_apply_job.call(ApplyJob.objects.get().pk)
    page.wait_for_selector("[data-role=job-progress] [data-testid=job-progress][data-done=true]")
    summary = page.locator("[data-testid=job-summary] tbody tr")
    assert summary.count() == 2
    assert page.locator("[data-testid=job-state]").inner_text() == "succeeded"
    assert fake_clusters["a"].objects == {}
    # and the new job is a link to its page, also listed in Recent jobs, still without a reload
    dry_run = ApplyJob.objects.get()
    assert page.locator("[data-testid=job-link]").get_attribute("href") == f"/jobs/{dry_run.pk}/"
    recent = page.locator(f"[data-testid=apply-jobs] li[data-job='{dry_run.pk}']")
    assert recent.is_visible()
    assert recent.locator("a").get_attribute("href") == f"/jobs/{dry_run.pk}/"
    assert recent.locator("[data-testid=recent-job-state]").inner_text() == "succeeded"
    assert "dry run · istio · a, b" in recent.inner_text() and "op ·" in recent.inner_text()

    # when the operator applies for real to cluster a
    start(page, ["a"], dry_run=False)
    page.wait_for_selector("[data-role=job-progress] [data-testid=job-progress][data-state=queued]")
    job = ApplyJob.objects.get(dry_run=False)
    run_apply_job.call(job.pk)
    page.wait_for_selector("[data-role=job-progress] [data-testid=job-progress][data-done=true]")
    created = page.locator("[data-testid=job-cluster][data-cluster=a] tr[data-outcome=created]")
    assert created.count() == len(fake_clusters["a"].objects) > 0
    listed = page.locator("[data-testid=apply-jobs] li")
    assert [item.get_attribute("data-job") for item in listed.all()] == [str(job.pk), str(dry_run.pk)]

    # and following the heading's link opens the job's page
    page.click("[data-testid=job-link]")
    page.wait_for_url(f"**/jobs/{job.pk}/")

    # where the job page shows the same final table
    row = page.locator("[data-testid=job-summary] tbody tr[data-cluster=a]")
    assert row.get_attribute("data-state") == "succeeded"
    assert row.locator("td").nth(2).inner_text() == str(len(fake_clusters["a"].objects))
    # under its title, aligned with it (not pushed to the header's far right)
    title = page.locator(".page-header h1").bounding_box()
    description = page.locator(".page-header .page-desc").bounding_box()
    assert description["y"] >= title["y"] + title["height"] and abs(description["x"] - title["x"]) < 1


def test_a_refusal_is_shown_in_the_panel(page: Any, approved_review: Review, fake_clusters: Any, settings: Any) -> None:
    settings.TASKS = DATABASE
    from tests.fixtures.reviews import user_in_role

    for name in ("op-1", "op-2"):
        user = user_in_role("operator", name)
        user.set_password(PASSWORD)
        user.save()
    pages.sign_in(page, "op-1", PASSWORD)
    page.goto(f"/reviews/{approved_review.pk}/")
    start(page, ["a"], dry_run=False)
    page.wait_for_selector("[data-role=job-progress] [data-testid=job-progress]")

    # when the same apply is started again while the first is queued
    start(page, ["a"], dry_run=False)

    # then the panel says which job holds the cluster
    error = page.locator("[data-role=apply-errors] li[data-code=APPLY_RUNNING]")
    error.wait_for()
    assert f"Job #{ApplyJob.objects.get().pk} is already applying" in error.inner_text()
