"""QA regressions (issue 10, item 12): what a newcomer tripped over in the console, one journey each.

Set ``QA_SHOTS=/some/dir`` to also save a screenshot of each journey's end state for review.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from policies import services
from tests.browser import pages
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EDITOR = f"/policies/{SEED_POLICY}/"
SHOTS = os.environ.get("QA_SHOTS")


@pytest.fixture
def seeded(seed_gateway_record, journey_user):
    """The seed gateway with its scenario-2 policy."""
    return services.create_policy(scenario_document("2"), user=journey_user, message="Seed scenario 2")


def shot(page, name: str, full_page: bool = False) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page)


def inline_errors(item) -> list[str]:
    """The codes of the error messages shown at the fields of a card or row."""
    return [m.get_attribute("data-code") for m in item.locator(".field-msg.error").all()]


def test_a_new_rule_shows_its_errors_once_touched_or_saved(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    # Add a rule: its empty namespace, name and hosts are errors, but nothing was typed yet.
    rule = pages.add_rule(page)
    pages.wait_for_preview(page)
    assert page.locator("[data-role=validity]").text_content() == "3 error(s)"
    assert inline_errors(rule) == []
    shot(page, "new-rule-untouched")
    # Leaving the namespace field empty is touching it: its error shows, the others still wait.
    rule.locator("[data-field=namespace]").focus()
    rule.locator("[data-field=namespace]").blur()
    assert inline_errors(rule) == ["EGRESS-V7"]
    # Saving shows them all.
    page.click("[data-action=save]")
    page.locator("[data-role=banner]:not([hidden])").wait_for()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-kind=rule]:last-child .field-msg.error').length === 3"
    )
    assert sorted(inline_errors(rule)) == ["EGRESS-V10", "EGRESS-V7", "EGRESS-V9"]


def test_a_host_with_a_space_stays_one_host_and_is_explained(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    row = page.locator("[data-kind=to]").first
    # Type "bad host" and press Enter.
    row.locator("[data-role=host-input]").fill("bad host")
    row.locator("[data-role=host-input]").press("Enter")
    pages.wait_for_preview(page)
    # One tag, not two, and the validator says what is wrong with it.
    tags = [t.get_attribute("data-value") for t in row.locator("[data-kind=host]").all()]
    assert tags == ["www.httpbin.org", "httpbin.org", "bad host"]
    assert inline_errors(row) == ["EGRESS-V10"]


def test_a_port_error_keeps_the_port_row_and_hides_the_impossible_route(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    row = page.locator("[data-kind=to]").first
    number = row.locator('[data-field="port.number"]')
    gateway = row.locator('[data-field="byEgressGateway.port"]')
    before = (number.bounding_box(), gateway.bounding_box())
    # Type an out-of-range port.
    number.fill("70000")
    pages.wait_for_preview(page)
    shot(page, "port-error")
    # The error is shown, the fields neither widen nor wrap, and no route through :70000 is drawn.
    assert inline_errors(row) == ["EGRESS-V12"]
    after = (number.bounding_box(), gateway.bounding_box())
    assert after[0]["width"] == before[0]["width"]
    assert after[1]["y"] == after[0]["y"]
    hop_line = row.locator("[data-testid=hop-line]").text_content()
    assert "70000" not in hop_line
    assert hop_line == "Complete the target to see its path."


def test_the_error_banner_of_a_refused_save_goes_away_with_the_next_edit(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    row = page.locator("[data-kind=to]").first
    row.locator('[data-field="port.number"]').fill("70000")
    pages.wait_for_preview(page)
    page.click("[data-action=save]")
    banner = page.locator("[data-role=banner]")
    banner.wait_for()
    assert banner.text_content().startswith("The policy has 1 error(s)")
    # Another edit changes the count: the badge follows, and the banner does not contradict it.
    row.locator('[data-field="name"]').fill("Bad_Name")
    pages.wait_for_preview(page)
    assert page.locator("[data-role=validity]").text_content() == "2 error(s)"
    assert banner.is_hidden()


def test_preview_problems_list_errors_first_and_scroll(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    # Break fields after the infos of the first destination (its V10b host note comes first in the document).
    rows = page.locator("[data-kind=to]")
    rows.nth(1).locator('[data-field="name"]').fill("Bad_Name")
    rows.nth(1).locator('[data-field="port.number"]').fill("0")
    rows.nth(0).locator('[data-field="port.name"]').fill("web")
    rule = pages.add_rule(page)
    pages.fill_source(rule, "Bad_NS", {})
    pages.wait_for_preview(page)
    shot(page, "problems-order")
    severities = [p.get_attribute("class").split()[1] for p in page.locator(".preview-pane .problem").all()]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    assert severities[0] == "error" and "info" in severities
    overflow = page.locator(".preview-pane .problems").evaluate("box => getComputedStyle(box).overflowY")
    assert overflow == "auto"


def test_the_navigation_stays_in_sight_when_the_page_scrolls(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    for _ in range(6):
        pages.add_rule(page)
    pages.wait_for_preview(page)
    page.mouse.wheel(0, 5000)
    page.wait_for_function("() => window.scrollY > 500")
    shot(page, "scrolled-sidebar")
    link = page.locator(".sidenav a").first.bounding_box()
    assert 50 <= link["y"] <= 120


def test_each_page_asks_for_the_logo_once_and_favicon_ico_exists(signed_in, seeded):
    page = signed_in
    logos: list[str] = []
    page.on("request", lambda request: logos.append(request.url) if "logo" in request.url else None)
    pages.open_editor(page, EDITOR)
    page.wait_for_load_state("networkidle")
    assert len(logos) <= 1
    shot(page, "header")
    assert page.request.get("/favicon.ico").status == 200
