"""User journeys through the console, one test each, in a real browser."""

from __future__ import annotations

import pytest

from policies import services
from policies.models import EgressPolicy
from policies.seed import seed_text
from tests.browser import pages
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EDITOR = f"/policies/{SEED_POLICY}/"


@pytest.fixture
def seeded(seed_gateway_record, journey_user):
    """The seed gateway with its scenario-2 policy."""
    return services.create_policy(scenario_document("2"), user=journey_user, message="Seed scenario 2")


def test_build_scenario_2_through_the_form(signed_in, seed_gateway_record):
    page = signed_in
    # Start a policy for the seed gateway, which has none yet.
    page.goto("/gateways/")
    page.click("text=Create policy")
    page.wait_for_selector(pages.EDITOR_READY)
    # One rule: mytest / app=sleep-a may reach httpbin over HTTP (upgraded to TLS) and HTTPS via 444.
    rule = pages.add_rule(page)
    pages.fill_source(rule, "mytest", {"app": "sleep-a"})
    http = rule.locator("[data-kind=to]").first
    pages.fill_destination(
        http,
        name="httpbin-service-http",
        hosts=["www.httpbin.org", "httpbin.org"],
        port=("http", 80, "HTTP"),
        gateway_port=80,
        upgrade_port=443,
    )
    https = pages.add_destination(rule)
    pages.fill_destination(
        https,
        name="httpbin-service-https",
        hosts=["www.httpbin.org", "httpbin.org"],
        port=("https", 443, "HTTPS"),
        gateway_port=444,
    )
    pages.wait_for_preview(page)
    # The hop line shows the upgrade.
    assert http.locator("[data-testid=hop-line]").text_content() == (
        "app → sidecar :80 → egressgateway :80 → www.httpbin.org :443 (TLS originated)"
    )
    pages.snapshot(page, "policy-form", full_page=True)
    # The YAML tab holds exactly the canonical fixture.
    pages.open_tab(page, "yaml")
    assert pages.yaml_text(page) == seed_text("scenario-2")
    pages.snapshot(page, "policy-yaml")
    # Creating it stores that document.
    page.click("[data-action=create]")
    page.wait_for_url(f"**{EDITOR}")
    assert EgressPolicy.objects.get().draft.document == scenario_document("2")


def test_invalid_port_shows_an_inline_error(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    # Type an impossible port into the first destination.
    number = page.locator("[data-kind=to]").first.locator('[data-field="port.number"]')
    number.fill("70000")
    pages.wait_for_preview(page)
    # The error sits under that very field, and the page says the policy has one error.
    field = number.locator("xpath=ancestor::label[contains(@class,'field')]")
    message = field.locator(".field-msg.error").text_content()
    assert message == "Port 70000 is out of range; use a number from 1 to 65535."
    assert "is-error" in number.get_attribute("class")
    assert page.locator("[data-role=validity]").text_content() == "1 error(s)"
    pages.snapshot(page, "inline-error")
    # A warning (port name not matching its protocol) is shown apart from the error, in its own style.
    port_name = page.locator("[data-kind=to]").first.locator('[data-field="port.name"]')
    port_name.fill("web")
    pages.wait_for_preview(page)
    name_field = port_name.locator("xpath=ancestor::label[contains(@class,'field')]")
    assert name_field.locator(".field-msg.warning").get_attribute("data-code") == "EGRESS-V14"
    assert "is-warning" in port_name.get_attribute("class")


def test_yaml_error_is_pinned_to_its_line_and_survives_switching_tabs(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    pages.open_tab(page, "yaml")
    # Break the HTTPS target's port on line 34.
    https_port = "number: 443\n        protocol: HTTPS"
    broken = seed_text("scenario-2").replace(https_port, https_port.replace("443", "0"))
    pages.type_yaml(page, broken)
    # The gutter marks line 34 and the problem list names it.
    assert page.locator(".ce-gutter .gl-error").all_text_contents() == ["34"]
    problem = page.locator("[data-role=yaml-problems] .problem.error")
    assert problem.locator(".problem-where").all_text_contents() == ["Line 34"]
    page.locator(".ce-gutter [data-line='34']").scroll_into_view_if_needed()
    pages.snapshot(page, "yaml-error")
    # The form shows the same value with the error at the field; back in YAML nothing is lost.
    pages.open_tab(page, "form")
    number = page.locator("[data-kind=to]").nth(1).locator('[data-field="port.number"]')
    assert number.input_value() == "0"
    assert "is-error" in number.get_attribute("class")
    pages.open_tab(page, "yaml")
    assert pages.yaml_text(page) == broken


def test_simulate_requests_from_two_workloads(signed_in, seeded):
    page = signed_in
    # The gateway list shows the seed gateway with its policy.
    page.goto("/gateways/")
    pages.snapshot(page, "gateways")
    pages.open_editor(page, EDITOR)
    pages.open_tab(page, "istio")
    pages.snapshot(page, "istio-objects")
    pages.open_tab(page, "simulate")
    # The selected workload reaches httpbin; the gateway upgrades the request to HTTPS.
    allowed = pages.simulate(page, "mytest", "app=sleep-a", "http://httpbin.org/anything")
    assert allowed["status"] == "200"
    assert allowed["upstream"].startswith("https://")
    # A workload in another namespace is blocked by the mesh.
    blocked = pages.simulate(page, "default", "app=nginx", "http://httpbin.org/anything")
    assert blocked["status"] == "502"
    pages.simulate(page, "mytest", "app=sleep-a", "http://httpbin.org/anything")
    # The matrix covers the policy's source against each host.
    assert page.locator("[data-testid=matrix] td.cell.ok").count() == 4
    pages.snapshot(page, "simulate")


def test_import_a_yaml_file(signed_in, seed_gateway_record, tmp_path):
    page = signed_in
    # Upload scenario 3 as a file.
    path = tmp_path / "scenario-3.yaml"
    path.write_text(seed_text("scenario-3"))
    pages.import_file(page, path)
    # It opens as the gateway's new policy, with its destination in the form.
    page.wait_for_url(f"**{EDITOR}")
    page.wait_for_selector(pages.EDITOR_READY)
    assert page.locator(".alert-success").text_content() == (f"Imported {SEED_POLICY}: a new policy with revision 1.")
    assert page.locator('[data-kind=to] [data-field="name"]').input_value() == "httpbin-service-https"
    pages.snapshot(page, "imported")


def test_switch_to_chinese(signed_in, seeded):
    page = signed_in
    pages.open_editor(page, EDITOR)
    # Pick 简体中文 in the header.
    pages.switch_language(page, "zh-hans")
    page.wait_for_selector(pages.EDITOR_READY)
    # Tabs, form labels and buttons are in Chinese.
    assert page.locator("html").get_attribute("lang") == "zh-hans"
    assert page.locator("[role=tab]").all_text_contents()[0].strip() == "表单"
    assert page.locator("[data-action=add-rule]").text_content().strip() == "+ 添加规则"
    assert page.locator("[data-kind=to] .field-label").first.text_content().strip() == "名称"
    pages.snapshot(page, "policy-form-zh")


def test_stale_save_keeps_the_edit_and_explains(signed_in, seeded, journey_user):
    page = signed_in
    pages.open_editor(page, EDITOR)
    # Edit the source namespace...
    namespace = page.locator("[data-kind=from] [data-field=namespace]")
    namespace.fill("mytest-2")
    pages.wait_for_preview(page)
    # ...while someone else saves a change to the draft.
    services.save_draft(seeded, scenario_document("3"), expected_version=1, user=journey_user)
    page.click("[data-action=save]")
    # The save is refused with a clear message, and the edit is still on the page.
    banner = page.locator("[data-role=banner]")
    banner.wait_for()
    assert "changed by someone else" in banner.text_content()
    assert namespace.input_value() == "mytest-2"
