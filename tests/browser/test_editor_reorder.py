"""Reordering rows in the policy form: the ends cannot move further, and a move reorders the YAML."""

from __future__ import annotations

import pytest

from policies import services
from policies.core.yamlio import load_one
from tests.browser import pages
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EDITOR = f"/policies/{SEED_POLICY}/"


@pytest.fixture
def seeded(seed_gateway_record, journey_user):
    """The seed gateway with its scenario-3 policy: one rule, one source, one HTTPS destination."""
    return services.create_policy(scenario_document("3"), user=journey_user, message="Seed scenario 3")


def move_buttons(item) -> tuple[bool, bool]:
    """Whether a card's or row's own Move up and Move down buttons are enabled."""
    tools = item.locator(":scope > .row-tools, :scope > .card-head > .card-tools")
    return (
        tools.locator("[data-action=move-up]").is_enabled(),
        tools.locator("[data-action=move-down]").is_enabled(),
    )


def move_up(row) -> None:
    """Click a row's Move up button."""
    row.locator(":scope > .row-tools [data-action=move-up]").click()


def destination_names(page) -> list[str]:
    """The names of the first rule's destinations, in the YAML tab's order."""
    pages.open_tab(page, "yaml")
    spec = load_one(pages.yaml_text(page)).data["spec"]
    return [target["name"] for target in spec["egressRules"][0]["to"]]


def test_move_buttons_are_disabled_at_the_ends_and_a_move_reorders_the_yaml(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    rule = page.locator("[data-kind=rule]").first
    destinations = rule.locator("[data-kind=to]")
    # A lone rule, source and destination can move neither way.
    assert move_buttons(rule) == (False, False)
    assert move_buttons(rule.locator("[data-kind=from]").first) == (False, False)
    assert move_buttons(destinations.first) == (False, False)
    # Add a second destination: the first may now move down only, the last up only.
    second = pages.add_destination(rule)
    pages.fill_destination(
        second, name="httpbin-service-http", hosts=["httpbin.org"], port=("http", 80, "HTTP"), gateway_port=80
    )
    pages.wait_for_preview(page)
    assert move_buttons(destinations.first) == (False, True)
    assert move_buttons(destinations.last) == (True, False)
    # Move the last one up: the buttons follow the new order, and so does the YAML.
    move_up(destinations.last)
    pages.wait_for_preview(page)
    assert destinations.first.locator('[data-field="name"]').input_value() == "httpbin-service-http"
    assert move_buttons(destinations.first) == (False, True)
    assert move_buttons(destinations.last) == (True, False)
    assert destination_names(page) == ["httpbin-service-http", "httpbin-service-https"]
    # Removing one leaves a lone destination that can move neither way again.
    pages.open_tab(page, "form")
    destinations.last.locator(":scope > .row-tools [data-action=remove]").click()
    assert move_buttons(destinations.first) == (False, False)
