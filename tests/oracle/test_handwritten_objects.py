"""Hand-written Istio objects, as users paste them, through both simulators.

Shapes the expansion never emits but users do: the old ``gateways`` + ``sourceLabels`` HTTP
match, TCP ServiceEntries competing for one port (with and without creation times), direct
ServiceEntries with exportTo, TLS origination at the sidecar, header and method matches, and an
ALLOW policy on the gateway.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from policies.core.yamlio import load_all
from testenv.oracle import IstioOracle, OracleRequest
from tests.oracle.differential import Case, compare
from tests.unit.test_simulator import tcp_port_claim

FIXTURES = Path(__file__).parents[1] / "unit" / "simulator_fixtures"
WORKLOADS = (("mytest", {"app": "sleep-a"}), ("mytest", {"app": "sleep-b"}), ("team-a", {"app": "web"}))


def documents(text: str) -> list[dict[str, Any]]:
    return [d.data for d in load_all(text)]


DIRECT = """
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: team-a}
spec:
  hosts: [api.example.com, www.api.example.com]
  resolution: DNS
  exportTo: [".", mytest]
  ports: [{number: 80, name: http, protocol: HTTP}, {number: 443, name: https, protocol: HTTPS},
          {number: 8080, name: http-alt, protocol: HTTP, targetPort: 443}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: api-originate, namespace: team-a}
spec:
  host: api.example.com
  exportTo: ["."]
  trafficPolicy:
    portLevelSettings:
    - port: {number: 8080}
      tls: {mode: SIMPLE}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: api, namespace: team-a}
spec:
  hosts: [api.example.com]
  exportTo: ["*"]
  http:
  - match: [{method: {exact: POST}}]
    directResponse: {status: 405}
  - match: [{headers: {x-canary: {exact: "1"}}}]
    directResponse: {status: 418}
  - route: [{destination: {host: api.example.com}}]
"""

WORKLOAD_SCOPED_RULE = """
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: sleep-a-originates, namespace: mytest}
spec:
  host: api.example.com
  workloadSelector: {matchLabels: {app: sleep-a}}
  trafficPolicy:
    portLevelSettings:
    - port: {number: 8080}
      tls: {mode: SIMPLE}
"""

ALLOW_GET_ONLY = """
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: allow-get, namespace: istio-system}
spec:
  selector: {matchLabels: {istio: egressgateway}}
  action: ALLOW
  rules:
  - to: [{operation: {methods: [GET]}}]
"""

HANDWRITTEN = {
    "old-shape-gateways-and-source-labels": (FIXTURES / "scenario-1-old-shape.yaml").read_text(encoding="utf-8"),
    "tcp-port-claimed-twice-applied-together": tcp_port_claim("first-in-document", "zeta.example.com")
    + tcp_port_claim("second-in-document", "alpha.example.com"),
    "tcp-port-claimed-twice-older-wins": tcp_port_claim("older", "zeta.example.com", "2026-01-01T00:00:00Z")
    + tcp_port_claim("newer", "alpha.example.com", "2026-06-01T00:00:00Z"),
    "direct-service-entry-exportto-origination-matches": DIRECT,
    "workload-scoped-destination-rule": DIRECT + WORKLOAD_SCOPED_RULE,
    "scenario-2-with-allow-get-only": (FIXTURES / "scenario-2.yaml").read_text(encoding="utf-8")
    + "\n---\n"
    + ALLOW_GET_ONLY,
}
URLS = (
    "http://www.httpbin.org/",
    "https://www.httpbin.org/",
    "http://httpbin.org/x",
    "https://zeta.example.com:3306/",
    "https://alpha.example.com:3306/",
    "http://api.example.com/",
    "http://www.api.example.com/",
    "https://api.example.com/",
    "http://api.example.com:8080/",
)


@pytest.mark.parametrize("name", sorted(HANDWRITTEN))
def test_handwritten_objects_agree_with_istio(oracle: IstioOracle, name: str) -> None:
    # given objects a user wrote by hand
    objects = documents(HANDWRITTEN[name])

    # when several workloads send GET and POST to hosts they mention and others
    requests = [OracleRequest(ns, labels, url, m) for ns, labels in WORKLOADS for url in URLS for m in ("GET", "POST")]
    comparison = compare(oracle, [Case(name, objects, requests)])

    # then Istio accepts them and both simulators agree on every request
    assert comparison.rejected == {}
    assert comparison.disagreements == [], comparison.report()
