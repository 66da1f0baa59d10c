"""QA regressions found by exploratory testing of the policy editor, one journey each."""

from __future__ import annotations

import pytest

from policies import services
from tests.browser import pages
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EDITOR = f"/policies/{SEED_POLICY}/"


@pytest.fixture
def seeded(seed_gateway_record, journey_user):
    """The seed gateway with its scenario-2 policy."""
    return services.create_policy(scenario_document("2"), user=journey_user, message="Seed scenario 2")


def host_tags(row) -> list[str]:
    """The host tags of a destination row, in order."""
    return [tag.get_attribute("data-value") for tag in row.locator("[data-kind=host]").all()]


def paste(field, text: str) -> None:
    """Paste ``text`` into ``field`` as the clipboard would."""
    field.evaluate(
        """(el, text) => {
            const data = new DataTransfer();
            data.setData("text/plain", text);
            el.dispatchEvent(new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
        }""",
        text,
    )


def test_typed_hosts_are_normalised_and_never_duplicated(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    row = page.locator("[data-kind=to]").first
    host_input = row.locator("[data-role=host-input]")
    # Type an upper-case host, a host with a trailing dot, a host already listed, a comma-separated
    # list that repeats itself, and paste a list separated by a line break and a space.
    for text in ["API.Example.COM", "b.example.com.", "httpbin.org", "c.example.com, c.example.com"]:
        host_input.fill(text)
        host_input.press("Enter")
    paste(host_input, "c.example.com\nd.example.com e.example.com")
    pages.wait_for_preview(page)
    # The tags are lower case, without trailing dots, each host once; the policy stays valid.
    assert host_tags(row) == [
        "www.httpbin.org",
        "httpbin.org",
        "api.example.com",
        "b.example.com",
        "c.example.com",
        "d.example.com",
        "e.example.com",
    ]
    assert host_input.input_value() == ""


def test_a_single_preview_problem_is_shown_whole_next_to_a_long_yaml(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    # Break the YAML so the preview lists one problem while the CR preview stays long.
    pages.open_tab(page, "yaml")
    pages.type_yaml(page, pages.yaml_text(page).replace("spec:", "spec: [", 1))
    pages.open_tab(page, "form")
    # The problem list is not squeezed by the long YAML: its one entry is fully visible.
    problems = page.locator(".preview-pane .problems")
    clipped = problems.evaluate("box => box.scrollHeight - box.clientHeight")
    assert problems.locator(".problem").count() == 1
    assert clipped == 0


def selected_tab(page) -> tuple[str, str]:
    """(selected tab, focused tab) of the editor."""
    selected = "document.querySelector('[role=tab][aria-selected=true]').dataset.tab"
    return page.evaluate(f"() => [{selected}, document.activeElement.dataset.tab]")


def test_editor_tabs_follow_the_keyboard_pattern_for_tabs(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    # Only the selected tab is a Tab stop; its panel is labelled by it.
    tabindexes = page.eval_on_selector_all("[role=tab]", "tabs => tabs.map(t => [t.dataset.tab, t.tabIndex])")
    assert tabindexes == [["form", 0], ["yaml", -1], ["istio", -1], ["simulate", -1], ["history", -1]]
    assert page.locator("[data-panel=form]").get_attribute("role") == "tabpanel"
    assert page.locator("[data-panel=form]").get_attribute("aria-labelledby") == "tab-form"
    # Arrow keys, Home and End move the selection and the focus together, wrapping at the ends.
    page.focus("[role=tab][data-tab=form]")
    moves = []
    for key in ["ArrowRight", "ArrowRight", "End", "ArrowRight", "ArrowLeft", "Home"]:
        page.keyboard.press(key)
        moves.append(selected_tab(page))
    assert moves == [
        ["yaml", "yaml"],
        ["istio", "istio"],
        ["history", "history"],
        ["form", "form"],
        ["history", "history"],
        ["form", "form"],
    ]
    assert page.locator("[data-panel=form]").is_visible()
