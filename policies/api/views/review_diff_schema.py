"""OpenAPI of ``GET /api/v1/reviews/{id}/diff/``: parameters, the report's JSON schema and an example."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema

from policies.api.schema import error_responses

STRING, INTEGER, BOOLEAN = {"type": "string"}, {"type": "integer"}, {"type": "boolean"}
NULLABLE_STRING = {"type": "string", "nullable": True}
NULLABLE_INTEGER = {"type": "integer", "nullable": True}
ANY: dict[str, Any] = {"nullable": True}


def _object(properties: dict[str, Any], *, nullable: bool = False) -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": sorted(properties)}
    return {**schema, "nullable": True} if nullable else schema


def _list(items: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": items}


SOURCE = _object({"namespace": STRING, "labels": {"type": "object"}, "role": STRING, "label": STRING})
STATUS = {"oneOf": [INTEGER, STRING], "description": "An HTTP status, or `reset`."}
OUTCOME = _object({"status": STATUS, "upstream": NULLABLE_STRING, "reason": STRING})
REACHABILITY = _object(
    {
        "counts": _object({"allowed": INTEGER, "blocked": INTEGER, "changed": INTEGER}),
        "probed": _object({"sources": INTEGER, "urls": INTEGER, "pairs": INTEGER}),
        "changes": _list(
            _object(
                {
                    "source": SOURCE,
                    "url": STRING,
                    "direction": {"type": "string", "enum": ["allowed", "blocked", "changed"]},
                    "old": OUTCOME,
                    "new": OUTCOME,
                    "summary": STRING,
                }
            )
        ),
    }
)
CELL = _object({"number": INTEGER, "text": STRING}, nullable=True)
LINE_DIFF = _object(
    {
        "added": INTEGER,
        "removed": INTEGER,
        "rows": _list(
            _object(
                {
                    "kind": {"type": "string", "enum": ["equal", "delete", "insert", "replace", "fold"]},
                    "old": CELL,
                    "new": CELL,
                    "folded": INTEGER,
                }
            )
        ),
    }
)
OBJECT_DIFF = _object(
    {
        "kind": STRING,
        "namespace": STRING,
        "name": STRING,
        "status": {"type": "string", "enum": ["added", "removed", "changed", "unchanged"]},
        "diff": LINE_DIFF,
    }
)
ERROR = _object({"code": STRING, "message": STRING}, nullable=True)
PLAN = {
    "type": "object",
    "nullable": True,
    "description": "Only for `against=live`. On a cluster error only cluster, target, error and hint are present.",
    "properties": {
        "cluster": STRING,
        "target": NULLABLE_STRING,
        "plannedAt": STRING,
        "cached": BOOLEAN,
        "summary": _object({k: INTEGER for k in ("create", "change", "prune", "unchanged", "failed")}),
        "objects": _list(
            _object(
                {
                    "kind": STRING,
                    "namespace": STRING,
                    "name": STRING,
                    "action": {"type": "string", "enum": ["create", "change", "unchanged", "prune", "failed"]},
                    "error": ERROR,
                    "changes": _list(_object({"operation": STRING, "path": STRING, "old": ANY, "new": ANY})),
                }
            )
        ),
        "error": ERROR,
        "hint": STRING,
        "liveReachability": {
            **REACHABILITY,
            "nullable": True,
            "description": "The reachability change against the objects live on the cluster now (null when they "
            "cannot be simulated).",
        },
    },
    "required": ["cluster", "target", "error"],
}
REPORT = _object(
    {
        "review": _object(
            {
                "id": INTEGER,
                "state": STRING,
                "policy": STRING,
                "revision": INTEGER,
                "contentHash": STRING,
                "restores": NULLABLE_INTEGER,
            }
        ),
        "against": {"type": "string", "enum": ["applied", "live"]},
        "base": _object(
            {
                "kind": {"type": "string", "enum": ["revision", "empty"]},
                "revision": NULLABLE_INTEGER,
                "contentHash": NULLABLE_STRING,
                "cluster": NULLABLE_STRING,
                "appliedAt": NULLABLE_STRING,
            }
        ),
        "meshMode": _object(
            {
                "mode": STRING,
                "source": {"type": "string", "enum": ["cluster", "default"]},
                "sidecars": _object(
                    {
                        "state": {
                            "type": "string",
                            "enum": ["read", "unknown", "unmodelled"],
                            "nullable": True,
                            "description": "read: the cluster's Sidecars were simulated; unknown: its last check "
                            "could not list them; unmodelled: one cannot be simulated, so the mode alone was used; "
                            "null: no cluster or never checked.",
                        },
                        "count": {**INTEGER, "description": "How many of the cluster's Sidecars were simulated."},
                    }
                ),
            }
        ),
        "reachability": REACHABILITY,
        "summary": _list(_object({"kind": STRING, "path": STRING, "message": STRING, "old": ANY, "new": ANY})),
        "diffs": _object(
            {
                "cr": LINE_DIFF,
                "istio": _list(OBJECT_DIFF),
                "istioCounts": _object({k: INTEGER for k in ("added", "removed", "changed", "unchanged")}),
            }
        ),
        "plan": PLAN,
    }
)

EXAMPLE: dict[str, Any] = {
    "review": {
        "id": 3,
        "state": "in_review",
        "policy": "egress-by-egressgateway",
        "revision": 2,
        "contentHash": "9f2c1e0b7d4a8f6e5c3b2a1908f7e6d5c4b3a29181f0e9d8c7b6a5948372615a",
        "restores": None,
    },
    "against": "live",
    "base": {
        "kind": "revision",
        "revision": 1,
        "contentHash": "4b3a29181f0e9d8c7b6a5948372615a9f2c1e0b7d4a8f6e5c3b2a1908f7e6d5c",
        "cluster": "east",
        "appliedAt": "2026-12-03T06:00:00+00:00",
    },
    "meshMode": {"mode": "REGISTRY_ONLY", "source": "cluster", "sidecars": {"state": "read", "count": 3}},
    "reachability": {
        "counts": {"allowed": 1, "blocked": 1, "changed": 0},
        "probed": {"sources": 4, "urls": 6, "pairs": 24},
        "changes": [
            {
                "source": {
                    "namespace": "mytest",
                    "labels": {"app": "sleep"},
                    "role": "selected",
                    "label": "mytest/app=sleep",
                },
                "url": "http://httpbin.org:81/",
                "direction": "allowed",
                "old": {"status": 502, "upstream": None, "reason": "No route: REGISTRY_ONLY mesh"},
                "new": {"status": 200, "upstream": "httpbin.org:81", "reason": "Routed through the egress gateway"},
                "summary": "mytest/app=sleep → http://httpbin.org:81/: 502 → 200",
            },
        ],
    },
    "summary": [
        {
            "kind": "port_changed",
            "path": "spec.egressRules[0].to[0].port.number",
            "message": "rule 1: httpbin-http port 80 → 81",
            "old": 80,
            "new": 81,
        }
    ],
    "diffs": {
        "cr": {
            "added": 1,
            "removed": 1,
            "rows": [
                {"kind": "fold", "old": None, "new": None, "folded": 12},
                {
                    "kind": "replace",
                    "old": {"number": 16, "text": "        number: 80"},
                    "new": {"number": 16, "text": "        number: 81"},
                    "folded": 0,
                },
            ],
        },
        "istio": [
            {
                "kind": "ServiceEntry",
                "namespace": "istio-egress",
                "name": "httpbin-http",
                "status": "changed",
                "diff": {"added": 1, "removed": 1, "rows": []},
            }
        ],
        "istioCounts": {"added": 0, "removed": 0, "changed": 1, "unchanged": 4},
    },
    "plan": {
        "cluster": "east",
        "target": "istio",
        "plannedAt": "2026-12-03T06:10:00+00:00",
        "cached": False,
        "summary": {"create": 0, "change": 1, "prune": 0, "unchanged": 4, "failed": 0},
        "objects": [
            {
                "kind": "ServiceEntry",
                "namespace": "istio-egress",
                "name": "httpbin-http",
                "action": "change",
                "error": None,
                "changes": [{"operation": "change", "path": "spec.ports[0].number", "old": 80, "new": 81}],
            }
        ],
        "error": None,
    },
}
EXAMPLE["plan"]["liveReachability"] = EXAMPLE["reachability"]  # NB: the cluster holds the applied revision
DEAD_CLUSTER = {
    "cluster": "east",
    "target": "istio",
    "error": {"code": "CLUSTER-E001", "message": "The API server https://10.0.0.1:6443 did not answer (timed out)."},
    "hint": "The rest of the review does not depend on the cluster; try again or pick another cluster.",
}

diff_schema = extend_schema(
    summary="The review report: reachability change, summary, CR and Istio diffs; with against=live, the plan",
    parameters=[
        OpenApiParameter(
            "against",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            enum=["applied", "live"],
            default="applied",
            description="`applied`: the last revision applied to `cluster` (without it: the latest applied "
            "anywhere, or the empty policy). `live`: the same, plus the plan against the cluster's live state.",
        ),
        OpenApiParameter("cluster", OpenApiTypes.STR, OpenApiParameter.QUERY, description="Required for `live`."),
        OpenApiParameter(
            "target",
            OpenApiTypes.STR,
            OpenApiParameter.QUERY,
            enum=["asm", "istio"],
            description="Plan the CR (`asm`) or its Istio objects (`istio`); default: `asm` where the CRD is served.",
        ),
        OpenApiParameter(
            "refresh", OpenApiTypes.BOOL, OpenApiParameter.QUERY, description="Plan again instead of the cached plan."
        ),
    ],
    responses={
        200: OpenApiResponse(
            REPORT,
            "The report; the reachability change comes first in every client's reading order.",
            examples=[
                OpenApiExample("Against the live cluster", value=EXAMPLE),
                OpenApiExample("The cluster did not answer", value={**EXAMPLE, "plan": DEAD_CLUSTER}),
            ],
        ),
        **error_responses(400, 404, 409),
    },
)
