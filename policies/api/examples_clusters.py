"""OpenAPI examples of the cluster endpoints: a registration, a checked cluster, its policies, an unreachable one."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

CHECKED = {
    "checkedAt": "2026-12-03T08:00:00Z",
    "checkedBy": "operator",
    "reachable": True,
    "error": None,
    "targets": ["asm", "istio"],
    "versions": {"istio.alibabacloud.com": ["v1beta1"], "networking.istio.io": ["v1", "v1beta1"]},
    "outboundMode": "REGISTRY_ONLY",
    "outboundModeSource": "mesh-config",
    "outboundModeOrigin": "istio-system/istio",
    "outboundModeError": None,
    "sidecars": {
        "state": "read",
        "count": 3,
        "error": None,
        "overrides": [{"namespace": "team-a", "sidecar": "default", "workloads": "", "mode": "ALLOW_ANY"}],
        "unmodelled": [],
    },
}
REGISTER = {"name": "prod-1", "kubeconfigPath": "/etc/egress/kubeconfig", "context": "prod-1", "description": "Prod"}
CLUSTER = {
    **REGISTER,
    "inCluster": False,
    "createdAt": "2026-12-03T07:00:00Z",
    "check": CHECKED,
    "url": "/api/v1/clusters/prod-1/",
}
DETAIL = {
    **CLUSTER,
    "policies": [
        {
            "policy": "egress-by-egressgateway",
            "policyId": 1,
            "revision": 3,
            "contentHash": "9f2c1e0b7d4a8f6e5c3b2a1908f7e6d5c4b3a29181f0e9d8c7b6a5948372615a",
            "target": "asm",
            "appliedAt": "2026-12-03T07:30:00Z",
            "appliedBy": "operator",
            "drift": "in-sync",
            "driftCheckedAt": "2026-12-03T08:00:00Z",
            "driftedObjects": [],
            "driftError": "",
        }
    ],
}
UNREACHABLE = {
    **CLUSTER,
    "check": {
        **{key: None for key in CHECKED},
        "checkedAt": "2026-12-03T08:00:00Z",
        "checkedBy": "operator",
        "reachable": False,
        "error": {
            "code": "CLUSTER-E001",
            "message": "Cannot reach the API server (connection refused) for get apigroups.",
        },
        "targets": [],
        "versions": {},
        "sidecars": {"state": None, "count": None, "error": None, "overrides": [], "unmodelled": []},
    },
    "policies": [],
}
CLUSTER_EXAMPLES = [
    OpenApiExample("Register by kubeconfig and context", request_only=True, value=REGISTER),
    OpenApiExample("A checked cluster", response_only=True, value=CLUSTER),
]
CLUSTER_LIST_EXAMPLES = [OpenApiExample("One checked cluster", response_only=True, value=[CLUSTER])]
DETAIL_EXAMPLES = [OpenApiExample("A cluster with one policy", response_only=True, value=DETAIL)]
CHECK_EXAMPLES = [
    OpenApiExample("Reachable", response_only=True, value=DETAIL),
    OpenApiExample("Unreachable", response_only=True, value=UNREACHABLE),
]
