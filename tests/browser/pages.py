"""One small helper per page action, shared by the journeys and scripts/screenshots.py."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

# NB: scripts/screenshots.py sets this to regenerate docs/screenshots/ from these same journeys.
SCREENSHOTS = os.environ.get("EGRESS_SCREENSHOTS", "")

EDITOR_READY = "body[data-editor-ready=true]"


def sign_in(page: Any, username: str, password: str) -> None:
    """Sign in through the login form."""
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/gateways/")


def open_editor(page: Any, path: str) -> None:
    """Open a policy editor page and wait until its script has loaded the draft."""
    page.goto(path)
    page.wait_for_selector(EDITOR_READY)


def wait_for_preview(page: Any) -> None:
    """Wait until the debounced live preview has answered the latest change."""
    page.wait_for_function("() => !document.body.dataset.previewPending")


def open_tab(page: Any, name: str) -> None:
    """Switch the editor to a tab: form, yaml, istio, simulate or history."""
    page.click(f"[role=tab][data-tab={name}]")
    page.wait_for_selector(f"[data-panel={name}]:not([hidden])")


def add_rule(page: Any) -> Any:
    """Add a rule card (one empty source, one HTTP destination) and return it."""
    page.click("[data-action=add-rule]")
    return page.locator("[data-kind=rule]").last


def fill_source(rule: Any, namespace: str, labels: dict[str, str]) -> None:
    """Fill the rule's last source: namespace and workload labels."""
    source = rule.locator("[data-kind=from]").last
    source.locator("[data-field=namespace]").fill(namespace)
    for key, value in labels.items():
        source.locator("[data-action=add-label]").click()
        label = source.locator("[data-kind=label]").last
        label.locator("[data-role=label-key]").fill(key)
        label.locator("[data-role=label-value]").fill(value)


def add_destination(rule: Any) -> Any:
    """Add a destination row to a rule and return it."""
    rule.locator("[data-action=add-to]").click()
    return rule.locator("[data-kind=to]").last


def fill_destination(
    row: Any,
    *,
    name: str,
    hosts: list[str],
    port: tuple[str, int, str],
    gateway_port: int,
    upgrade_port: int | None = None,
) -> None:
    """Fill a destination row: name, host tags, port (name, number, protocol), gateway port, upgrade."""
    row.locator('[data-field="name"]').fill(name)
    for host in hosts:
        row.locator("[data-role=host-input]").fill(host)
        row.locator("[data-role=host-input]").press("Enter")
    port_name, number, protocol = port
    row.locator('[data-field="port.name"]').fill(port_name)
    row.locator('[data-field="port.number"]').fill(str(number))
    row.locator('[data-field="port.protocol"]').select_option(protocol)
    row.locator('[data-field="byEgressGateway.port"]').select_option(str(gateway_port))
    if upgrade_port is not None:
        row.locator("label.switch").click()
        row.locator('[data-field="httpsUpgrade.port"]').fill(str(upgrade_port))


def yaml_text(page: Any) -> str:
    """The text in the YAML tab's editor."""
    return page.locator("[data-panel=yaml] textarea").input_value()


def type_yaml(page: Any, text: str) -> None:
    """Replace the YAML tab's text, as if typed."""
    page.locator("[data-panel=yaml] textarea").fill(text)
    wait_for_preview(page)


def simulate(page: Any, namespace: str, labels: str, url: str, method: str = "GET") -> dict[str, str]:
    """Send one simulated request from the Simulate tab; returns the shown status and upstream."""
    form = page.locator("[data-role=simulate-form]")
    form.locator("[name=namespace]").fill(namespace)
    form.locator("[name=labels]").fill(labels)
    form.locator("[name=method]").select_option(method)
    form.locator("[name=url]").fill(url)
    form.locator("button[type=submit]").click()
    status = page.locator("[data-role=simulate-result] .sim-status")
    status.wait_for()
    upstream = page.locator("[data-testid=upstream]")
    return {
        "status": status.get_attribute("data-status"),
        "upstream": upstream.text_content() if upstream.count() else "",
    }


def import_file(page: Any, path: Path) -> None:
    """Upload a YAML file on the Import page and submit it."""
    page.goto("/import/")
    page.set_input_files("input[name=file]", str(path))
    page.click("[data-testid=import-form] button[type=submit]")


def switch_language(page: Any, code: str) -> None:
    """Pick a language in the header's switch (the page reloads in it)."""
    with page.expect_navigation():
        page.select_option("#language-select", code)
    page.wait_for_load_state()


def snapshot(page: Any, name: str, full_page: bool = False) -> None:
    """Save ``{name}.png`` for the README when screenshots are being regenerated; otherwise nothing."""
    if not SCREENSHOTS:
        return
    page.wait_for_function("() => !document.body.dataset.previewPending")
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=full_page)
