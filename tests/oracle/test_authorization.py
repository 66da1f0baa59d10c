"""AuthorizationPolicies on the egress gateway, as users write them, through both simulators.

Istio translates each policy into the gateway's Envoy RBAC filters (HTTP or network, by filter
chain); the harness evaluates those with Envoy's semantics and the project's simulator evaluates
the policy itself: they must agree for every method, path, host, SNI and source.
"""

from __future__ import annotations

import pytest

from policies.core.yamlio import load_all
from testenv.oracle import IstioOracle, OracleRequest
from tests.oracle.differential import Case, assert_agree, simulator_fixture

SCENARIO_2 = simulator_fixture("scenario-2")
POLICY = """
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {{name: p, namespace: istio-system}}
spec:
  selector: {{matchLabels: {{istio: egressgateway}}}}
{body}
"""
BODIES = {
    "deny-paths-on-a-host": (
        "  action: DENY\n  rules: [{to: [{operation: {paths: ['/admin*'], hosts: [httpbin.org]}}]}]"
    ),
    "deny-not-methods": "  action: DENY\n  rules: [{to: [{operation: {notMethods: [GET]}}]}]",
    "allow-a-namespace": "  action: ALLOW\n  rules: [{from: [{source: {namespaces: [mytest]}}]}]",
    "allow-a-principal": (
        "  action: ALLOW\n  rules: [{from: [{source: {principals: ['cluster.local/ns/mytest/sa/default']}}]}]"
    ),
    "deny-not-namespaces-on-a-port": (
        "  action: DENY\n  rules: [{from: [{source: {notNamespaces: [mytest]}}], to: [{operation: {ports: ['80']}}]}]"
    ),
    "allow-hosts-also-on-tcp": "  action: ALLOW\n  rules: [{to: [{operation: {hosts: [www.httpbin.org]}}]}]",
    "deny-when-sni": "  action: DENY\n  rules: [{when: [{key: connection.sni, values: [httpbin.org]}]}]",
    "allow-every-request": "  action: ALLOW\n  rules: [{}]",
}
URLS = ("http://www.httpbin.org/", "http://httpbin.org/admin/x", "https://www.httpbin.org/", "https://httpbin.org/")
WORKLOADS = (("mytest", {"app": "sleep-a"}), ("mytest", {"app": "sleep-b"}))


@pytest.mark.parametrize("name", sorted(BODIES))
def test_gateway_authorization_agrees_with_istio(oracle: IstioOracle, name: str) -> None:
    # given scenario 2 and one AuthorizationPolicy on the gateway
    objects = [d.data for d in load_all(SCENARIO_2 + POLICY.format(body=BODIES[name]))]

    # when selected and unselected workloads send GET and POST over HTTP and TLS
    requests = [OracleRequest(ns, labels, url, m) for ns, labels in WORKLOADS for url in URLS for m in ("GET", "POST")]
    # then Istio accepts the policy and both simulators agree on every request
    assert_agree(oracle, [Case(name, objects, requests)])
