"""Every row of the spec §5 request-outcome table, through the simulator.

Each row runs twice: over the hand-written Istio objects in ``simulator_fixtures/`` (copied from
the spec's §4.5-§4.8 YAML, so the simulator is checked on its own) and over the expansion of the
seed policy (so the expansion is checked by an independent reader of Istio objects).

Row S4-3 is "uncertain" in the spec: a wrong TLS server (curl exit 60) or a reset. Both leave
the client without an HTTP response, so the simulator reports ``reset``: the TCP chain without
addresses takes the connection to www.alibabacloud.com, whose certificate does not cover
www.httpbin.org (the certificate is taken to cover the hosts of its ServiceEntry).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from policies.core.gateway import TranslationSettings
from policies.core.simulator import Mesh, Request, build_mesh
from policies.core.yamlio import load_all
from policies.seed import seed_text
from tests.fixtures.seed import seed_policy

FIXTURES = Path(__file__).parent / "simulator_fixtures"
GSVC = "egressgateway.istio-system.svc.cluster.local"
W1 = ("mytest", {"app": "sleep-a"})
W2 = ("default", {"app": "nginx"})
W3 = ("mytest", {"app": "sleep-b"})
HTTP_WWW = "http://www.httpbin.org"
HTTPS_WWW = "https://www.httpbin.org"
DENY_POLICY = "istio-system/egress-deny-post-from-mytest"
GW = "gateway istio-system/egressgateway"
MESH_VS_HTTP = "istio-egress/egress-by-egressgateway-httpbin-service-http-mesh"
MESH_VS_HTTPS = "istio-egress/egress-by-egressgateway-httpbin-service-https-mesh"
MESH_VS_TCP = "istio-egress/egress-by-egressgateway-aliyun-service-tcp-mesh"


def block_all(workload: str, host: str) -> str:
    return f"sidecar {workload}: {host}:80 is not in its registry → virtual host block_all (direct response 502)"


def black_hole(workload: str, host: str) -> str:
    return f"sidecar {workload}: no filter chain for SNI {host} on port 443 → BlackHoleCluster (UH)"


VIA_GATEWAY_HTTP = (
    f"sidecar mytest/sleep-a: route via-egressgateway → outbound|80|httpbin-service-http|{GSVC} "
    "(mTLS, SNI www.httpbin.org)"
)
VIA_GATEWAY_HTTPS = (
    f"sidecar mytest/sleep-a: route {MESH_VS_HTTPS} tls[0] → outbound|444|httpbin-service-https|{GSVC} "
    "(mTLS, SNI www.httpbin.org)"
)
GW_HTTP_TO_EXTERNAL = (
    f"{GW}: server https-80-httpbin-service-http (SNI www.httpbin.org) → route to-external "
    "→ outbound|80||www.httpbin.org"
)
DENY_SUBSET_CLOSED_444 = (
    f"{GW}: no server on port 444 for SNI blocked.httpbin-service-https.invalid → connection closed"
)
DENY_SUBSET_CLOSED_443 = f"{GW}: no server on port 443 for SNI blocked.aliyun-service-tcp.invalid → connection closed"
TCP_CHAIN = (
    "sidecar mytest/sleep-a: TCP chain 0.0.0.0:443 of ServiceEntry "
    "istio-egress/egress-by-egressgateway-aliyun-service-tcp (no addresses)"
)
TCP_DENIED = (
    f"AuthorizationPolicy {DENY_POLICY} (DENY) matches on the TCP chain (HTTP-only fields hosts, methods dropped) "
    "→ connection closed"
)


@dataclass(frozen=True)
class Row:
    """One request of the §5 table and exactly what it must get."""

    id: str
    scenario: str
    source: tuple[str, dict[str, str]]
    url: str
    status: int | str
    upstream: str | None
    key_hop: str | tuple[str, ...]
    body: str | None = None
    method: str = "GET"
    deny: bool = False
    mesh_mode: str = "REGISTRY_ONLY"
    upgrade_style: str = "targetPort"


ROWS = [
    Row("P0-1", "none", W1, HTTP_WWW, 502, None, block_all("mytest/sleep-a", "www.httpbin.org")),
    Row("P0-2", "none", W2, HTTP_WWW, 502, None, block_all("default/nginx", "www.httpbin.org")),
    Row("P0-3-W1", "none", W1, HTTPS_WWW, "reset", None, black_hole("mytest/sleep-a", "www.httpbin.org")),
    Row("P0-3-W2", "none", W2, HTTPS_WWW, "reset", None, black_hole("default/nginx", "www.httpbin.org")),
    Row(
        "P0-4", "none", W2, HTTP_WWW, 200, "http://www.httpbin.org:80/",
        "sidecar default/nginx: www.httpbin.org:80 is not in its registry → PassthroughCluster (ALLOW_ANY)",
        mesh_mode="ALLOW_ANY",
    ),
    Row("S1-1", "1", W2, HTTP_WWW, 502, None, block_all("default/nginx", "www.httpbin.org")),
    Row("S1-2", "1", W1, HTTP_WWW, 200, "http://www.httpbin.org:80/", VIA_GATEWAY_HTTP),
    Row("S1-3", "1", W1, "http://httpbin.org", 200, "http://httpbin.org:80/", GW_HTTP_TO_EXTERNAL),
    Row("S1-4", "1", W1, HTTPS_WWW, "reset", None, black_hole("mytest/sleep-a", "www.httpbin.org")),
    Row(
        "S1-5", "1", W3, HTTP_WWW, 502, None,
        "sidecar mytest/sleep-b: route deny-unselected → direct response 502",
    ),
    Row("S1-6", "1-deleted", W1, HTTP_WWW, 502, None, block_all("mytest/sleep-a", "www.httpbin.org")),
    Row(
        "A1", "1", W1, HTTP_WWW, 403, None,
        f"{GW}: server https-80-httpbin-service-http (SNI www.httpbin.org): AuthorizationPolicy {DENY_POLICY} (DENY) "
        "matches → 403",
        body="RBAC: access denied", method="POST", deny=True,
    ),
    Row("A2", "1", W1, HTTP_WWW, 200, "http://www.httpbin.org:80/", GW_HTTP_TO_EXTERNAL, deny=True),
    Row(
        "A3", "1", W1, "http://httpbin.org/anything", 403, None,
        f"{GW}: server https-80-httpbin-service-http (SNI www.httpbin.org): AuthorizationPolicy {DENY_POLICY} (DENY) "
        "matches → 403",
        body="RBAC: access denied", method="POST", deny=True,
    ),
    Row(
        "A4-3", "3", W1, HTTPS_WWW, "reset", None,
        f"{GW}: server tls-444-httpbin-service-https (SNI www.httpbin.org): {TCP_DENIED}", deny=True,
    ),
    Row(
        "A4-4", "4", W1, "https://www.alibabacloud.com", "reset", None,
        f"{GW}: server tls-443-aliyun-service-tcp (SNI www.alibabacloud.com): {TCP_DENIED}", deny=True,
    ),
    Row(
        "S2-1", "2", W1, "http://httpbin.org", 200, "https://httpbin.org:443/",
        f"{GW}: upstream outbound|80||www.httpbin.org → www.httpbin.org:443 via targetPort, "
        "TLS originated (SIMPLE, SNI httpbin.org)",
    ),
    Row(
        "S2-2", "2", W1, "http://httpbin.org/anything", 200, "https://httpbin.org:443/anything",
        f"{GW}: upstream outbound|80||www.httpbin.org → www.httpbin.org:443 via targetPort, "
        "TLS originated (SIMPLE, SNI httpbin.org)",
    ),
    Row(
        "S2-3", "2", W1, HTTPS_WWW, 200, "https://www.httpbin.org:443/",
        f"sidecar mytest/sleep-a: route {MESH_VS_HTTP} tls[0] → outbound|444|httpbin-service-https|{GSVC} "
        "(mTLS, SNI www.httpbin.org)",
    ),
    Row("S2-3a", "2a", W1, HTTPS_WWW, "reset", None, black_hole("mytest/sleep-a", "www.httpbin.org")),
    Row(
        "S2-3a-gatewayPort", "2a", W1, HTTPS_WWW, 200, "https://www.httpbin.org:443/",
        "sidecar mytest/sleep-a: default route → outbound|443||www.httpbin.org (direct, no egress gateway)",
        upgrade_style="gatewayPort",
    ),
    Row(
        "S2-8-http", "2", W3, HTTP_WWW, 502, None,
        "sidecar mytest/sleep-b: route deny-unselected → direct response 502",
    ),
    Row("S2-8-https", "2", W3, HTTPS_WWW, "reset", None, DENY_SUBSET_CLOSED_444),
    Row("S2-4", "2", W2, HTTP_WWW, 502, None, block_all("default/nginx", "www.httpbin.org")),
    Row("S2-5", "2", W2, HTTPS_WWW, "reset", None, black_hole("default/nginx", "www.httpbin.org")),
    Row("S2-6", "2-deleted", W1, HTTP_WWW, 502, None, block_all("mytest/sleep-a", "www.httpbin.org")),
    Row("S2-7", "2-deleted", W1, HTTPS_WWW, "reset", None, black_hole("mytest/sleep-a", "www.httpbin.org")),
    Row("S3-1", "3", W1, "http://httpbin.org", 502, None, block_all("mytest/sleep-a", "httpbin.org")),
    Row("S3-2", "3", W1, HTTPS_WWW, 200, "https://www.httpbin.org:443/", VIA_GATEWAY_HTTPS),
    Row(
        "S3-3", "3", W1, "https://httpbin.org", 200, "https://httpbin.org:443/",
        f"{GW}: upstream outbound|443||www.httpbin.org → www.httpbin.org:443, app TLS passed through (SNI httpbin.org)",
    ),
    Row("S3-4", "3", W1, "https://example.com", "reset", None, black_hole("mytest/sleep-a", "example.com")),
    Row("S3-5", "3", W3, HTTPS_WWW, "reset", None, DENY_SUBSET_CLOSED_444),
    Row("S3-6", "3", W2, HTTP_WWW, 502, None, block_all("default/nginx", "www.httpbin.org")),
    Row("S3-7", "3", W2, HTTPS_WWW, "reset", None, black_hole("default/nginx", "www.httpbin.org")),
    Row("S3-8-http", "3-deleted", W1, HTTP_WWW, 502, None, block_all("mytest/sleep-a", "www.httpbin.org")),
    Row(
        "S3-8-https", "3-deleted", W1, HTTPS_WWW, "reset", None,
        black_hole("mytest/sleep-a", "www.httpbin.org"),
    ),
    Row("S4-1", "4", W1, "http://www.alibabacloud.com", 502, None, block_all("mytest/sleep-a", "www.alibabacloud.com")),
    Row(
        "S4-2", "4", W1, "https://www.alibabacloud.com", 200, "https://www.alibabacloud.com:443/",
        (
            TCP_CHAIN,
            f"sidecar mytest/sleep-a: route {MESH_VS_TCP} tcp[0] → outbound|443|aliyun-service-tcp|{GSVC} "
            "(mTLS, SNI www.alibabacloud.com)",
        ),
    ),
    Row(
        "S4-3", "4", W1, HTTPS_WWW, "reset", None,
        (
            TCP_CHAIN,
            "external www.alibabacloud.com:443: certificate does not cover www.httpbin.org "
            "→ client aborts the TLS handshake",
        ),
    ),
    Row("S4-4", "4", W3, "https://www.alibabacloud.com", "reset", None, DENY_SUBSET_CLOSED_443),
    Row("S4-5", "4", W2, "http://www.alibabacloud.com", 502, None, block_all("default/nginx", "www.alibabacloud.com")),
    Row(
        "S4-6", "4", W2, "https://www.alibabacloud.com", "reset", None,
        black_hole("default/nginx", "www.alibabacloud.com"),
    ),
    Row(
        "S4-7-http", "4-deleted", W1, "http://www.alibabacloud.com", 502, None,
        block_all("mytest/sleep-a", "www.alibabacloud.com"),
    ),
    Row(
        "S4-7-https", "4-deleted", W1, "https://www.alibabacloud.com", "reset", None,
        black_hole("mytest/sleep-a", "www.alibabacloud.com"),
    ),
]  # fmt: skip


def _documents(text: str) -> list[dict[str, Any]]:
    return [document.data for document in load_all(text)]


def _deny_objects() -> list[dict[str, Any]]:
    return _documents(seed_text("authorization-deny-post"))


def handwritten_objects(scenario: str, upgrade_style: str) -> list[dict[str, Any]]:
    """The spec's YAML for a scenario (a deleted or absent policy has no objects)."""
    if scenario == "none" or scenario.endswith("-deleted"):
        return []
    suffix = "-gatewayport" if upgrade_style == "gatewayPort" else ""
    return _documents((FIXTURES / f"scenario-{scenario}{suffix}.yaml").read_text(encoding="utf-8"))


def expanded_objects(scenario: str, upgrade_style: str) -> list[dict[str, Any]]:
    """The expansion of the seed policy (``expand_deletion`` for a deleted one)."""
    expansion = pytest.importorskip("policies.core.expansion")
    if scenario == "none":
        return []
    policy = seed_policy(scenario.removesuffix("-deleted"))
    if scenario.endswith("-deleted"):
        return expansion.expand_deletion(policy)
    return expansion.expand_policy(policy, settings=TranslationSettings(upgrade_style=upgrade_style))


@cache
def mesh_for(origin: str, scenario: str, deny: bool, mesh_mode: str, upgrade_style: str) -> Mesh:
    objects = (handwritten_objects if origin == "handwritten" else expanded_objects)(scenario, upgrade_style)
    return build_mesh(objects + (_deny_objects() if deny else []), mesh_mode=mesh_mode)


@pytest.mark.parametrize("origin", ["handwritten", "expanded"])
@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
def test_request_gets_the_outcome_of_the_spec_table(row: Row, origin: str) -> None:
    # Given the Istio objects of the row's scenario (plus the seed's DENY policy for the A rows)
    mesh = mesh_for(origin, row.scenario, row.deny, row.mesh_mode, row.upgrade_style)

    # When the row's workload sends the row's request
    namespace, labels = row.source
    result = mesh.simulate(Request(namespace, labels, row.url, row.method))

    # Then it gets exactly the table's outcome, by the documented path
    assert (result.status, result.upstream, result.body) == (row.status, row.upstream, row.body), result.hops
    key_hops = (row.key_hop,) if isinstance(row.key_hop, str) else row.key_hop
    assert [hop for hop in key_hops if hop not in result.hops] == [], result.hops
    assert result.reason.endswith(".")


def test_table_covers_every_row_of_spec_section_5() -> None:
    # Given the row ids of the spec's §5 table
    spec_ids = {
        *("P0-1", "P0-2", "P0-3", "P0-4", "A1", "A2", "A3", "A4", "S2-3a", "S2-8"),
        *(f"S1-{i}" for i in range(1, 7)),
        *(f"S2-{i}" for i in range(1, 8)),
        *(f"S3-{i}" for i in range(1, 9)),
        *(f"S4-{i}" for i in range(1, 8)),
    }

    # When the parametrized rows are reduced to their table ids
    covered = {row.id.split("-W")[0].removesuffix("-http").removesuffix("-https") for row in ROWS}
    covered = {"A4" if row_id.startswith("A4") else row_id.removesuffix("-gatewayPort") for row_id in covered}

    # Then every table row is tested
    assert covered == spec_ids
