"""OpenAPI examples of apply jobs: the seed policy's approved revision applied to two clusters."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample

from policies.api.examples_reviews import REVIEW

COUNTS = {"pending": 0, "created": 3, "configured": 0, "unchanged": 0, "pruned": 0, "failed": 0, "skipped": 0}
OBJECT = {
    "kind": "ServiceEntry",
    "namespace": "istio-egress",
    "name": "egress-by-egressgateway-httpbin-service-http",
    "outcome": "created",
    "errorCode": "",
    "message": "",
    "changes": [],
}
CLUSTER = {
    "cluster": "prod-eu",
    "state": "succeeded",
    "errorCode": "",
    "errorMessage": "",
    "startedAt": "2026-12-03T06:10:01Z",
    "finishedAt": "2026-12-03T06:10:03Z",
    "counts": COUNTS,
    "objects": [OBJECT],
}
FAILED_CLUSTER = {
    **CLUSTER,
    "cluster": "prod-us",
    "state": "failed",
    "errorCode": "CLUSTER-E001",
    "errorMessage": "The API server cannot be reached: connection refused.",
    "counts": {**COUNTS, "created": 1, "failed": 1, "skipped": 1},
    "objects": [OBJECT, {**OBJECT, "name": "egress-by-egressgateway-httpbin", "outcome": "failed"}],
}
JOB = {
    "id": 7,
    "review": REVIEW["id"],
    "policy": REVIEW["policy"],
    "policyName": REVIEW["policyName"],
    "revision": REVIEW["revision"],
    "contentHash": REVIEW["contentHash"],
    "target": "istio",
    "dryRun": False,
    "state": "failed",
    "user": "operator",
    "requestId": "8dbf047af7334b708f2690ea8056bf1a",
    "createdAt": "2026-12-03T06:10:00Z",
    "startedAt": "2026-12-03T06:10:01Z",
    "finishedAt": "2026-12-03T06:10:03Z",
    "clusters": [CLUSTER, FAILED_CLUSTER],
    "url": "/api/v1/jobs/7/",
}
QUEUED = {
    **JOB,
    "state": "queued",
    "startedAt": None,
    "finishedAt": None,
    "clusters": [
        {**row, "state": "queued", "errorCode": "", "errorMessage": "", "startedAt": None, "finishedAt": None}
        | {"counts": dict.fromkeys(COUNTS, 0), "objects": []}
        for row in (CLUSTER, FAILED_CLUSTER)
    ],
}
APPLY_EXAMPLES = [
    OpenApiExample("One cluster", request_only=True, value={"cluster": "prod-eu", "target": "istio"}),
    OpenApiExample(
        "Dry run on two clusters",
        request_only=True,
        value={"clusters": ["prod-eu", "prod-us"], "target": "istio", "dryRun": True},
    ),
    OpenApiExample("The queued job", response_only=True, status_codes=["202"], value=QUEUED),
]
JOB_EXAMPLES = [OpenApiExample("Applied on one cluster, failed on the other", response_only=True, value=JOB)]
JOB_LIST_EXAMPLES = [
    OpenApiExample(
        "One job",
        response_only=True,
        value=[
            {**JOB, "clusters": [{k: v for k, v in row.items() if k != "objects"} for row in (CLUSTER, FAILED_CLUSTER)]}
        ],
    )
]
