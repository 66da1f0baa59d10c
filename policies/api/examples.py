"""Request and response examples of the OpenAPI document, all built from the seed.

The seed's policies (``policies/seed/``) are the examples the documentation shows, and response
examples are computed by the same core functions the endpoints call (expansion, simulation), so
an example cannot drift from what the API really answers.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.utils import OpenApiExample

from policies.core.document import parse_policy_data
from policies.core.expansion import expand_policy
from policies.core.simulator import Request, build_mesh
from policies.core.yamlio import dump_yaml_all, load_one
from policies.seed import seed_text

SEED_SCENARIOS = {
    "1": "HTTP via gateway port 80",
    "2": "HTTP with HTTPS upgrade, plus HTTPS via 444",
    "3": "HTTPS via gateway port 444",
    "4": "TCP 443 with the default gateway port",
}
SLEEP_A = {"namespace": "mytest", "labels": {"app": "sleep-a"}}
NGINX = {"namespace": "default", "labels": {"app": "nginx"}}


@cache
def seed_document(name: str) -> dict[str, Any]:
    """The plain data of a seed file: ``"2"`` for scenario 2, or a file name."""
    return load_one(seed_text(f"scenario-{name}" if name in SEED_SCENARIOS or name == "2a" else name)).data


def seed_policy_examples(*, request: bool = True, response: bool = True) -> list[OpenApiExample]:
    """One example per seed scenario, as a request and/or response body."""
    return [
        OpenApiExample(
            f"Seed scenario {scenario}",
            value=seed_document(scenario),
            summary=summary,
            request_only=request and not response,
            response_only=response and not request,
        )
        for scenario, summary in SEED_SCENARIOS.items()
    ]


@cache
def seed_expansion(scenario: str) -> list[dict[str, Any]]:
    """The Istio objects of a seed scenario (seed gateway, default settings)."""
    policy = parse_policy_data(seed_document(scenario)).policy
    assert policy is not None  # NB: the seed is valid; a broken seed must fail loudly at import.
    return expand_policy(policy)


def seed_simulation(scenario: str, source: dict[str, Any], url: str, method: str = "GET") -> dict[str, Any]:
    """What the simulator answers for a request under a seed scenario."""
    mesh = build_mesh(seed_expansion(scenario))
    return mesh.simulate(Request(source["namespace"], source["labels"], url, method)).as_dict()


SEED_GATEWAY = {
    "name": "egressgateway",
    "namespace": "istio-system",
    "mtls": True,
    "description": "The seed's egress gateway",
    "ports": [
        {"name": "http-80", "number": 80, "protocol": "HTTP"},
        {"name": "https-443", "number": 443, "protocol": "HTTPS"},
        {"name": "https-444", "number": 444, "protocol": "HTTPS"},
    ],
}
GATEWAY_EXAMPLE = OpenApiExample("Seed gateway", value=SEED_GATEWAY)
GATEWAY_RESPONSE_EXAMPLE = OpenApiExample(
    "Seed gateway with its policy",
    response_only=True,
    value={**SEED_GATEWAY, "policy": 1, "createdAt": "2026-11-27T09:00:00Z"},
)
SUMMARY_EXAMPLE = OpenApiExample(
    "Seed scenario 2, edited once",
    response_only=True,
    value={
        "id": 1,
        "name": "egress-by-egressgateway",
        "namespace": "istio-egress",
        "gateway": "egressgateway",
        "draftVersion": 2,
        "latestRevision": 1,
        "createdAt": "2026-11-27T09:00:00Z",
        "updatedAt": "2026-11-27T09:30:00Z",
        "url": "/api/v1/policies/1/",
    },
)
REVISION = {
    "number": 1,
    "message": "Seed scenario 2",
    "author": "admin",
    "contentHash": "9f2c1e0d4b7a8c6e5f3d2b1a0c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d",
    "createdAt": "2026-11-27T09:00:00Z",
}
REVISION_EXAMPLE = OpenApiExample("Revision 1", response_only=True, value=REVISION)
REVISION_DETAIL_EXAMPLE = OpenApiExample(
    "Revision 1 of seed scenario 2", response_only=True, value={**REVISION, "document": seed_document("2")}
)
MANIFEST_EXAMPLES = [
    OpenApiExample("target=asm (seed scenario 2)", response_only=True, value=seed_document("2")),
    OpenApiExample("target=istio (seed scenario 3)", response_only=True, value=seed_expansion("3")),
]
MANIFEST_YAML_EXAMPLES = [
    OpenApiExample("target=asm (seed scenario 2)", response_only=True, value=seed_text("scenario-2")),
    OpenApiExample("target=istio (seed scenario 3)", response_only=True, value=dump_yaml_all(seed_expansion("3"))),
]
PATCH_EXAMPLE = OpenApiExample(
    "Let namespace ci use the first rule's targets too",
    request_only=True,
    value={
        "spec": {
            "egressRules": [
                {
                    **seed_document("1")["spec"]["egressRules"][0],
                    "from": [{"namespace": "mytest", "workloadSelector": {"app": "sleep-a"}}, {"namespace": "ci"}],
                }
            ]
        }
    },
)
VALIDATION_EXAMPLES = [
    OpenApiExample("A valid policy", response_only=True, value={"valid": True, "findings": []}),
    OpenApiExample(
        "A policy in the wrong namespace",
        response_only=True,
        value={
            "valid": False,
            "findings": [
                {
                    "code": "EGRESS-V2",
                    "severity": "error",
                    "path": "metadata.namespace",
                    "line": 5,
                    "message": "metadata.namespace is 'default'; ASMEgressTrafficPolicy objects must live in namespace "
                    "istio-egress.",
                }
            ],
        },
    ),
]
DRAFT_SIMULATION_EXAMPLES = [
    OpenApiExample(
        "sleep-a fetches httpbin over HTTP",
        request_only=True,
        value={"source": SLEEP_A, "url": "http://httpbin.org/anything", "method": "GET"},
    ),
    OpenApiExample(
        "Scenario 2: upgraded to HTTPS at the gateway",
        response_only=True,
        value=seed_simulation("2", SLEEP_A, "http://httpbin.org/anything"),
    ),
]
SIMULATION_EXAMPLES = [
    OpenApiExample(
        "Scenario 2: sleep-a fetches httpbin over HTTP",
        request_only=True,
        value={
            "policies": [seed_document("2")],
            "source": SLEEP_A,
            "url": "http://httpbin.org/anything",
            "method": "GET",
            "meshMode": "REGISTRY_ONLY",
        },
    ),
    OpenApiExample(
        "Scenario 1 plus the seed's DENY policy: POST is refused",
        request_only=True,
        value={
            "policies": [seed_document("1"), seed_document("authorization-deny-post")],
            "source": SLEEP_A,
            "url": "http://www.httpbin.org",
            "method": "POST",
            "meshMode": "REGISTRY_ONLY",
        },
    ),
    OpenApiExample(
        "Allowed and upgraded", response_only=True, value=seed_simulation("2", SLEEP_A, "http://httpbin.org/anything")
    ),
    OpenApiExample(
        "Reset: nginx in default is not selected",
        response_only=True,
        value=seed_simulation("3", NGINX, "https://www.httpbin.org"),
    ),
]
