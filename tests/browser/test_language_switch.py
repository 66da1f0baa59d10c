"""Switching language with unsaved edits: the editor asks first, and a "no" changes nothing."""

from __future__ import annotations

import pytest

from policies import services
from tests.browser import pages
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EDITOR = f"/policies/{SEED_POLICY}/"
LEAVE = "Leave this page? Your changes are not saved."


@pytest.fixture
def seeded(seed_gateway_record, journey_user):
    """The seed gateway with its scenario-2 policy."""
    return services.create_policy(scenario_document("2"), user=journey_user, message="Seed scenario 2")


def answer_dialogs(page, accept: bool) -> list[str]:
    """Answer every dialog the page opens; returns the "type: message" of each, in order."""
    seen: list[str] = []

    def answer(dialog) -> None:
        seen.append(f"{dialog.type}: {dialog.message}")
        if accept:
            dialog.accept()
        else:
            dialog.dismiss()

    page.on("dialog", answer)
    return seen


def edit_namespace(page, namespace: str) -> None:
    """Type into the first source's namespace, leaving the editor with unsaved changes."""
    page.locator("[data-kind=from] [data-field=namespace]").fill(namespace)
    pages.wait_for_preview(page)


def pick_language(page, code: str) -> None:
    """Pick a language in the header's select, without expecting the page to reload."""
    page.select_option("#language-select", code)


def test_cancelled_switch_keeps_the_language_and_the_edit(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    edit_namespace(page, "mytest-2")
    dialogs = answer_dialogs(page, accept=False)
    # Pick 简体中文 and answer "no" to the leave prompt.
    pick_language(page, "zh-hans")
    # One prompt was shown; the select is back on English, the page in English, the edit kept.
    assert dialogs == [f"confirm: {LEAVE}"]
    assert page.locator("#language-select").input_value() == "en"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("[data-kind=from] [data-field=namespace]").input_value() == "mytest-2"
    assert page.locator("[data-role=dirty]").is_visible()
    # The same page keeps working: a further edit previews, and no late navigation or prompt follows.
    page.evaluate("window.sameDocument = true")
    edit_namespace(page, "mytest-3")
    assert page.evaluate("window.sameDocument") is True
    assert dialogs == [f"confirm: {LEAVE}"]


def test_confirmed_switch_asks_once_and_reloads_in_the_new_language(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    edit_namespace(page, "mytest-2")
    dialogs = answer_dialogs(page, accept=True)
    # Pick 简体中文 and answer "yes": the page reloads in Chinese without a second prompt.
    pages.switch_language(page, "zh-hans")
    page.wait_for_selector(pages.EDITOR_READY)
    assert dialogs == [f"confirm: {LEAVE}"]
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("#language-select").input_value() == "zh-hans"


def test_switch_without_edits_does_not_ask(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    dialogs = answer_dialogs(page, accept=False)
    # With nothing unsaved the switch just happens.
    pages.switch_language(page, "zh-hans")
    page.wait_for_selector(pages.EDITOR_READY)
    assert dialogs == []
    assert page.locator("html").get_attribute("lang") == "zh-hans"
