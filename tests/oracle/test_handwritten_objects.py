"""Hand-written Istio objects, as users paste them, through both simulators.

Shapes the expansion never emits but users do: the old ``gateways`` + ``sourceLabels`` HTTP
match, TCP ServiceEntries competing for one port (with and without creation times), direct
ServiceEntries with exportTo, TLS origination at the sidecar, header and method matches, and an
ALLOW policy on the gateway.
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.core.yamlio import load_all
from testenv.oracle import IstioOracle, OracleRequest
from tests.oracle.differential import Case, assert_agree, service_entry, simulator_fixture
from tests.unit.test_simulator import tcp_port_claim

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


HTTP_80 = "{number: 80, name: http, protocol: HTTP}"
TWO_VIRTUAL_SERVICES = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: older, namespace: team-a, creationTimestamp: '2026-01-01T00:00:00Z'}
spec:
  hosts: [api.example.com]
  http: [{directResponse: {status: 201}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: newer, namespace: mytest, creationTimestamp: '2026-02-01T00:00:00Z'}
spec:
  hosts: [api.example.com]
  http: [{directResponse: {status: 202}}]
"""
URI_AND_AUTHORITY = """
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: r, namespace: mytest}
spec:
  hosts: [api.example.com]
  http:
  - match: [{uri: {prefix: /v2}}]
    route: [{destination: {host: other.example.com}}]
  - match: [{authority: {exact: api.example.com}, scheme: {exact: http}}]
    route: [{destination: {host: api.example.com}}]
"""
MTLS_TO_EXTERNAL = """
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: m, namespace: mytest}
spec:
  host: api.example.com
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}
"""

HANDWRITTEN = {
    "old-shape-gateways-and-source-labels": simulator_fixture("scenario-1-old-shape"),
    "tcp-port-claimed-twice-applied-together": tcp_port_claim("first-in-document", "zeta.example.com")
    + tcp_port_claim("second-in-document", "alpha.example.com"),
    "tcp-port-claimed-twice-older-wins": tcp_port_claim("older", "zeta.example.com", "2026-01-01T00:00:00Z")
    + tcp_port_claim("newer", "alpha.example.com", "2026-06-01T00:00:00Z"),
    "direct-service-entry-exportto-origination-matches": DIRECT,
    "workload-scoped-destination-rule": DIRECT + WORKLOAD_SCOPED_RULE,
    "two-mesh-virtual-services-older-wins": service_entry("a", "team-a", "api.example.com", HTTP_80)
    + TWO_VIRTUAL_SERVICES,
    "export-to-forms": service_entry("a", "team-a", "api.example.com", HTTP_80, extra="  exportTo: ['~']")
    + service_entry("b", "team-a", "b.example.com", HTTP_80, extra="  exportTo: ['.']")
    + service_entry("c", "mytest", "c.example.com", HTTP_80, extra="  exportTo: ['*']"),
    "protocol-from-port-name": service_entry(
        "a", "mytest", "api.example.com", "{number: 8080, name: http-alt}, {number: 9443, name: https-x}"
    ),
    "resolution-none-with-addresses": service_entry(
        "a",
        "mytest",
        "db.example.com",
        "{number: 5432, name: tcp-pg, protocol: TCP}",
        "NONE",
        "  addresses: [203.0.113.7/32]",
    ),
    "resolution-static": service_entry(
        "a", "mytest", "api.example.com", HTTP_80, "STATIC", "  endpoints: [{address: 198.51.100.9}]"
    ),
    "mesh-mtls-to-an-external-host": service_entry("a", "mytest", "api.example.com", HTTP_80) + MTLS_TO_EXTERNAL,
    "uri-and-authority-matches": service_entry("a", "mytest", "api.example.com", HTTP_80)
    + service_entry("b", "mytest", "other.example.com", HTTP_80)
    + URI_AND_AUTHORITY,
    "scenario-2-with-allow-get-only": simulator_fixture("scenario-2") + "\n---\n" + ALLOW_GET_ONLY,
}
URLS = (
    "http://api.example.com/v2/x",
    "http://b.example.com/",
    "http://c.example.com/",
    "https://api.example.com:9443/",
    "https://db.example.com:5432/",
    "http://db.example.com:5432/",
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
    # then Istio accepts them and both simulators agree on every request
    assert_agree(oracle, [Case(name, objects, requests)])
