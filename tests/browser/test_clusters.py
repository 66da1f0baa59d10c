"""Cluster journeys in a real browser: register (refused, then accepted), check a dead cluster, and simulate in a
cluster's outbound mode from the editor's Simulate tab."""

from __future__ import annotations

import socket

import pytest

from policies import services
from policies.models import Cluster
from tests.browser import pages
from tests.fixtures.clusters import kubeconfig_text
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def register(page, name: str, path: str, context: str) -> None:
    """Fill and submit the registration form."""
    page.goto("/clusters/new/")
    form = page.locator("[data-testid=cluster-form]")
    form.locator("[name=name]").fill(name)
    form.locator("[name=kubeconfig_path]").fill(path)
    form.locator("[name=context]").fill(context)
    form.locator("button[type=submit]").click()


def test_register_a_cluster_and_check_its_connection(signed_in, tmp_path):
    # given a kubeconfig whose server nobody listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(kubeconfig_text(server=f"https://127.0.0.1:{port}"))
    # when the admin names a context the file does not have, the form says so on that field
    register(signed_in, "prod", str(kubeconfig), "nope")
    assert (
        "has no context 'nope'; it has: prod, staging."
        in signed_in.locator("[data-testid=errors-context]").inner_text()
    )
    # when the context exists, the cluster is registered and not yet checked
    register(signed_in, "prod", str(kubeconfig), "staging")
    signed_in.wait_for_url("**/clusters/prod/")
    assert signed_in.locator("h1 [data-testid=reachability]").inner_text() == "Not checked"
    # when the admin checks its connection, the page shows it unreachable with the code
    signed_in.click("[data-testid=check-connection]")
    signed_in.wait_for_selector("[data-testid=check-error]")
    assert signed_in.locator("[data-testid=check-error]").inner_text().startswith("CLUSTER-E001")
    assert "Unreachable" in signed_in.locator("h1 [data-testid=reachability]").inner_text()
    # and the list shows it too
    signed_in.click("nav.sidenav >> text=Clusters")
    row = signed_in.locator("[data-cluster=prod]")
    assert "CLUSTER-E001" in row.inner_text()
    assert row.locator("[data-testid=outbound-mode]").inner_text() == "Unknown"


def test_simulate_in_a_clusters_outbound_mode(signed_in, seed_gateway_record, journey_user):
    # given the seed policy and a cluster whose last check read ALLOW_ANY
    services.create_policy(scenario_document("2"), user=journey_user, message="Seed scenario 2")
    Cluster.objects.create(name="open", in_cluster=True, outbound_mode="ALLOW_ANY", outbound_mode_source="mesh-config")
    pages.open_editor(signed_in, f"/policies/{SEED_POLICY}/")
    pages.open_tab(signed_in, "simulate")
    # a request to a host the mesh does not know is refused by default (REGISTRY_ONLY)
    assert pages.simulate(signed_in, "default", "app=nginx", "http://unlisted.example/")["status"] == "502"
    # when the cluster is chosen, its mode is used and the manual choice is locked to it
    signed_in.select_option("[data-role=sim-cluster]", "open")
    mode = signed_in.locator("[data-role=sim-mode]")
    assert (mode.input_value(), mode.is_disabled()) == ("ALLOW_ANY", True)
    assert pages.simulate(signed_in, "default", "app=nginx", "http://unlisted.example/")["status"] == "200"
    # and the gateway page warns about that cluster
    signed_in.goto(f"/gateways/{seed_gateway_record.name}/")
    assert "open" in signed_in.locator("[data-testid=allow-any-warning]").inner_text()
