"""``Sidecar`` resources and VirtualService-only hosts, through both simulators.

A Sidecar narrows what a proxy imports (egress hosts, per namespace or workload selector, or the
root namespace's default) and may override the outbound mode; Istio still imports the
destinations of the VirtualServices it imports, and gives a mesh VirtualService's hosts virtual
hosts even when no service registers them.
"""

from __future__ import annotations

import pytest

from policies.core.yamlio import load_all
from testenv.oracle import IstioOracle, OracleRequest
from tests.oracle.differential import Case, assert_agree, service_entry, simulator_fixture

SCENARIO_2 = simulator_fixture("scenario-2")
HTTP_AND_HTTPS = "{number: 80, name: http, protocol: HTTP}, {number: 443, name: https, protocol: HTTPS}"
TEAM_API = (
    "\n---"
    + service_entry("api", "team-a", "api.example.com", HTTP_AND_HTTPS)
    + """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: alias, namespace: team-a}
spec:
  hosts: [alias.example.com]
  http: [{route: [{destination: {host: api.example.com}}]}]
"""
)
SIDECAR = """
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {{name: {name}, namespace: {namespace}}}
spec:
{body}
"""


def sidecar(name: str, namespace: str, body: str) -> str:
    return SIDECAR.format(name=name, namespace=namespace, body=body)


SHAPES = {
    "no-sidecar": ("", "REGISTRY_ONLY"),
    "own-namespace-only": (sidecar("default", "mytest", "  egress: [{hosts: ['./*']}]"), "REGISTRY_ONLY"),
    "policy-namespace-without-gateway-namespace": (
        sidecar("default", "mytest", "  egress: [{hosts: ['./*', 'istio-egress/*']}]"),
        "REGISTRY_ONLY",
    ),
    "host-pattern": (
        sidecar("default", "mytest", "  egress: [{hosts: ['*/*.httpbin.org', 'team-a/alias.example.com']}]"),
        "REGISTRY_ONLY",
    ),
    "workload-selector-first": (
        sidecar("only-a", "mytest", "  workloadSelector: {labels: {app: sleep-a}}\n  egress: [{hosts: ['team-a/*']}]")
        + sidecar("default", "mytest", "  egress: [{hosts: ['*/*']}]"),
        "REGISTRY_ONLY",
    ),
    "root-default-allows-any": (
        sidecar("default", "istio-system", "  outboundTrafficPolicy: {mode: ALLOW_ANY}"),
        "REGISTRY_ONLY",
    ),
    "root-default-registry-only-in-an-allow-any-mesh": (
        sidecar("default", "istio-system", "  outboundTrafficPolicy: {mode: REGISTRY_ONLY}"),
        "ALLOW_ANY",
    ),
    # NB: the root default is converted for the proxy's namespace, so its "." is that namespace
    # (pilot/pkg/model/push_context.go doGetSidecarScope → sidecar.go convertIstioListenerToWrapper).
    "root-default-dot-is-the-proxy-namespace": (
        sidecar("default", "istio-system", "  egress: [{hosts: ['./*', 'istio-egress/*']}]"),
        "REGISTRY_ONLY",
    ),
    # NB: a namespace's own Sidecar without a mode falls back to the mesh config, not to the root default
    # (sidecar.go initSidecarScopeInternalIndexes).
    "own-sidecar-without-mode-ignores-the-root-default-mode": (
        sidecar("default", "istio-system", "  outboundTrafficPolicy: {mode: ALLOW_ANY}")
        + sidecar("default", "team-a", "  egress: [{hosts: ['*/*']}]"),
        "REGISTRY_ONLY",
    ),
    "own-sidecar-allows-any-in-a-registry-only-mesh": (
        sidecar("default", "team-a", "  outboundTrafficPolicy: {mode: ALLOW_ANY}\n  ingress: []"),
        "REGISTRY_ONLY",
    ),
}
URLS = (
    "http://www.httpbin.org/",
    "http://httpbin.org/x",
    "https://www.httpbin.org/",
    "http://api.example.com/",
    "https://api.example.com/",
    "http://alias.example.com/",
    "http://unknown.example.org/",
    "https://unknown.example.org/",
)
WORKLOADS = (("mytest", {"app": "sleep-a"}), ("mytest", {"app": "sleep-b"}), ("team-a", {"app": "web"}))


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_sidecar_scoping_agrees_with_istio(oracle: IstioOracle, name: str) -> None:
    # given scenario 2, a team's ServiceEntry and a VirtualService-only alias, under a Sidecar shape
    extra, mode = SHAPES[name]
    objects = [d.data for d in load_all(SCENARIO_2 + TEAM_API + extra)]

    # when workloads of both namespaces send every URL
    requests = [OracleRequest(ns, labels, url) for ns, labels in WORKLOADS for url in URLS]
    # then Istio accepts the objects and both simulators agree on every request
    assert_agree(oracle, [Case(name, objects, requests, mesh_mode=mode)])
