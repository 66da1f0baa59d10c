"""QA (issue 11): the review-and-push pages fit the window at 1280 and 800 px; a table wider than its panel
scrolls inside the panel (the page itself never scrolls sideways), the review page's side column
keeps its apply results inside it, and the apply form shows every cluster and its dry-run box readably."""

from __future__ import annotations

from typing import Any

import pytest

from policies import clusters, jobs
from policies.models import Cluster, Review
from tests.browser import pages
from tests.browser.conftest import PASSWORD, fresh_page

pytestmark = pytest.mark.django_db(transaction=True)

# NB: elements that reach past the window's right edge, unless a scrolling ancestor inside the window clips them
OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX);
  const clipped = (el) => { for (let p = el.parentElement; p; p = p.parentElement) {
    if (scrolls(p) && p.getBoundingClientRect().right <= width + 1) return true; } return false; };
  return [...document.querySelectorAll('body *')]
    .filter((el) => el.getBoundingClientRect().right > width + 1 && !clipped(el))
    .map((el) => el.tagName.toLowerCase() + (el.dataset.testid ? '[' + el.dataset.testid + ']' : '')).slice(0, 5);
}"""


# NB: the clusters list shows every cluster without scrolling a 32 px box; the dry-run box is on its label's first line
APPLY_FORM = """() => {
  const clusters = document.querySelector('[data-testid=apply-clusters]');
  const dryRun = document.querySelector('[data-testid=apply-dry-run]');
  return {
    everyClusterShown: clusters.scrollHeight <= clusters.clientHeight,
    dryRunBesideItsLabel: dryRun.getBoundingClientRect().top - dryRun.parentElement.getBoundingClientRect().top < 8,
  };
}"""


@pytest.fixture
def applied_review(approved_review: Review, fake_clusters: Any, immediate_tasks: None, journey_user: Any) -> Review:
    """The approved review applied to clusters a and b (a job with every per-object row), cluster a checked."""
    clusters.check_cluster(Cluster.objects.get(name="a"), user=None)
    jobs.start_apply(
        approved_review, list(Cluster.objects.filter(name__in="ab")), target="istio", dry_run=False, user=journey_user
    )
    return approved_review


@pytest.mark.parametrize("width", [1280, 800])
def test_the_review_and_push_pages_never_scroll_sideways(
    browser: Any, live_server: Any, applied_review: Review, journey_user: Any, width: int
) -> None:
    job = applied_review.apply_jobs.get()
    urls = [
        "/clusters/",
        "/clusters/a/",
        "/clusters/new/",
        "/reviews/",
        f"/reviews/{applied_review.pk}/",
        f"/reviews/{applied_review.pk}/?cluster=a&target=istio",
        f"/jobs/{job.pk}/",
        "/audit/",
    ]
    with fresh_page(browser, live_server.url) as page:
        page.set_viewport_size({"width": width, "height": 900})
        pages.sign_in(page, journey_user.username, PASSWORD)
        for url in urls:
            page.goto(url)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("document.documentElement.scrollWidth") == width, (url, page.evaluate(OVERFLOWING))
        page.goto(f"/reviews/{applied_review.pk}/")
        assert page.evaluate(APPLY_FORM) == {"everyClusterShown": True, "dryRunBesideItsLabel": True}
