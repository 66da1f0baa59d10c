"""The discover journey in a real browser: upload logs → flows → propose → diff → save the draft → replay."""

from __future__ import annotations

import pytest

from policies.models import EgressPolicy
from tests.fixtures.discovery import sample_log

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_from_access_logs_to_a_draft_that_breaks_nothing(signed_in, seed_gateway_record, tmp_path):
    # given a day of one workload's access logs (both encodings), with one line of the proxy's own log
    log = tmp_path / "sleep-a.log"
    log.write_bytes(sample_log(["2024-05-01T10:00:00.000000Z\tinfo\tEnvoy proxy is ready"]))
    page = signed_in
    # when a newcomer uploads it for mytest/app=sleep-a from the Discover page
    page.click("nav.sidenav >> text=Discover")
    page.set_input_files("[data-testid=log-files]", str(log))
    page.fill("[data-testid=source-namespace]", "mytest")
    page.fill("[data-testid=source-labels]", "app=sleep-a")
    page.click("[data-testid=upload-button]")
    # then the summary names the refused line by number and code, and the flows are grouped by source
    summary = page.locator("[data-testid=ingest-summary]")
    assert "sleep-a.log:6" in summary.inner_text() and "EGRESS-LOG06" in summary.inner_text()
    group = page.locator("[data-source='mytest/app=sleep-a']")
    assert group.locator("input[name=flow]").count() == 4
    # when every flow is selected and rules are proposed
    assert page.locator("[data-testid=propose-button]").is_disabled()
    group.locator("[data-role=check-group]").check()
    page.click("[data-testid=propose-button]")
    # then the proposal shows its notes (httpsUpgrade suggested) and the diff against the (empty) draft
    assert "httpsUpgrade" in page.locator("[data-testid=proposal-note]").first.inner_text()
    assert "discovered-mytest" in page.locator("[data-testid=proposal-diff]").inner_text()
    # when it is saved as the draft, the editor opens on the new policy
    page.click("[data-testid=save-draft]")
    page.wait_for_url("**/policies/egress-by-egressgateway/")
    assert EgressPolicy.objects.filter(gateway=seed_gateway_record).exists()
    # and replaying the observed flows against that draft breaks nothing
    page.goto("/discover/?gateway=egressgateway")
    page.select_option("[data-testid=replay-against]", "draft")
    page.click("[data-testid=replay-button]")
    assert page.locator("[data-testid=replay-broken-count]").inner_text() == "0 would be blocked"
    assert page.locator("[data-testid=replay-nothing-broken]").is_visible()
    assert "blocked.example.org" in page.locator("[data-testid=replay-newly-allowed]").inner_text()


def test_the_review_page_shows_what_the_revision_would_block(signed_in, seed_policy_record, journey_user):
    # given observed traffic of the seed policy's gateway, and a review of the seed policy (revision 1)
    from policies import discovery, reviews
    from tests.fixtures.discovery import ingest_sample

    ingest_sample(seed_policy_record.gateway, journey_user)
    review = reviews.submit_review(seed_policy_record, user=journey_user, message="seed")
    assert discovery.replay_for_review(review) is not None
    # when the reviewer opens it, the replay panel arrives after the page
    signed_in.goto(f"/reviews/{review.pk}/")
    panel = signed_in.locator("[data-testid=review-replay]")
    panel.wait_for()
    # then it lists the observed flow revision 1 would block (api.example.com is not in the policy)
    assert "https://api.example.com/" in panel.locator("[data-testid=replay-broken]").inner_text()
