"""The seed scenarios and every row of the spec §5 table, through Istio's own config generator.

For each seed policy (and its variants), every workload of the spec's model and a few others
send every URL the scenarios talk about; the project's simulator must give exactly the status and
upstream that Istio's generated Envoy config gives (``testenv/istio``).
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.core.expansion import expand_policy
from policies.core.gateway import GatewayDescription, TranslationSettings, seed_gateway
from policies.core.yamlio import load_all
from policies.seed import seed_text
from testenv.oracle import IstioOracle, OracleRequest
from tests.fixtures.seed import seed_policy
from tests.oracle.differential import Case, assert_agree
from tests.strategies import gateway_for
from tests.unit.test_simulator_table import ROWS, expanded_objects, handwritten_objects

WORKLOADS = (
    ("mytest", {"app": "sleep-a"}),
    ("mytest", {"app": "sleep-b"}),
    ("mytest", {"app": "sleep-a", "version": "v2"}),
    ("default", {"app": "nginx"}),
)
URLS = (
    "http://www.httpbin.org/",
    "http://httpbin.org/anything",
    "https://www.httpbin.org/",
    "https://httpbin.org/",
    "http://www.alibabacloud.com/",
    "https://www.alibabacloud.com/",
    "https://example.com/",
    "http://example.com/",
    "http://www.httpbin.org:8080/",
)
VARIANTS = {
    "1": TranslationSettings(),
    "2": TranslationSettings(),
    "2a": TranslationSettings(),
    "2-gatewayPort": TranslationSettings(upgrade_style="gatewayPort"),
    "2a-gatewayPort": TranslationSettings(upgrade_style="gatewayPort"),
    "2-v1beta1": TranslationSettings(api_version="v1beta1"),
    "2-ca-secret": TranslationSettings(upgrade_ca_credential="httpbin-ca"),
    "2-ca-bundle": TranslationSettings(upgrade_ca_certificates="/etc/ssl/certs/ca-certificates.crt"),
    "3": TranslationSettings(),
    "4": TranslationSettings(),
    "4-asmAuto": TranslationSettings(port_default="asmAuto"),
}


def seed_gateway_with(allocated: GatewayDescription) -> GatewayDescription:
    """The seed's gateway plus the ports a policy needs (asmAuto: the ones ASM adds to its Service)."""
    ports = {p.number: p for p in (*seed_gateway().ports, *allocated.ports)}
    return seed_gateway().model_copy(update={"ports": tuple(sorted(ports.values(), key=lambda p: p.number))})


def deny_objects() -> list[dict[str, Any]]:
    return [d.data for d in load_all(seed_text("authorization-deny-post"))]


def requests_for(methods: tuple[str, ...] = ("GET",)) -> list[OracleRequest]:
    return [OracleRequest(ns, labels, url, m) for ns, labels in WORKLOADS for url in URLS for m in methods]


def seed_cases() -> list[Case]:
    cases = []
    for variant, settings in VARIANTS.items():
        policy = seed_policy(variant.split("-")[0])
        gateway = seed_gateway_with(gateway_for(policy, settings))
        objects = expand_policy(policy, gateway=gateway, settings=settings)
        cases.append(Case(f"scenario-{variant}", objects, requests_for(), gateway, settings))
        with_deny = objects + deny_objects()
        cases.append(Case(f"scenario-{variant}+deny", with_deny, requests_for(("GET", "POST")), gateway, settings))
    cases.append(Case("no-policy", [], requests_for()))
    cases.append(Case("no-policy-allow-any", [], requests_for(), mesh_mode="ALLOW_ANY"))
    cases.append(Case("scenario-1-allow-any", expand_policy(seed_policy("1")), requests_for(), mesh_mode="ALLOW_ANY"))
    return cases


def test_seed_scenarios_agree_with_istio(oracle: IstioOracle) -> None:
    # given every seed scenario and variant, with and without the seed's DENY policy
    cases = seed_cases()

    # when every workload sends every URL through both simulators, then Istio accepts every object
    # and both give the same status and upstream for every request (assert_agree), for many requests
    assert assert_agree(oracle, cases).pairs > 1000


@pytest.mark.parametrize("origin", ["handwritten", "expanded"])
def test_every_spec_table_row_agrees_with_istio(oracle: IstioOracle, origin: str) -> None:
    # given each row of the §5 table, over hand-written objects and over the expansion
    cases = []
    for row in ROWS:
        source = handwritten_objects if origin == "handwritten" else expanded_objects
        objects = source(row.scenario, row.upgrade_style) + (deny_objects() if row.deny else [])
        namespace, labels = row.source
        request = OracleRequest(namespace, labels, row.url, row.method)
        cases.append(Case(row.id, objects, [request], mesh_mode=row.mesh_mode))

    # when both simulators answer the row's request
    # then they agree on every row
    assert_agree(oracle, cases)
