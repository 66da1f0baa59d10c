"""OpenAPI examples of the review workflow and the audit log (a review of the seed policy, its entries)."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiExample

REVIEW = {
    "id": 1,
    "state": "in_review",
    "policy": 1,
    "policyName": "egress-by-egressgateway",
    "revision": 2,
    "contentHash": "9f2c1e0b7d4a8f6e5c3b2a1908f7e6d5c4b3a29181f0e9d8c7b6a5948372615a",
    "restores": None,
    "author": "editor",
    "message": "Open port 8443 for api.example.com",
    "decisions": [],
    "deployments": [],
    "allowedActions": ["approve", "reject"],
    "createdAt": "2026-12-03T06:00:00Z",
    "updatedAt": "2026-12-03T06:00:00Z",
    "url": "/api/v1/reviews/1/",
}
APPROVED = {
    **REVIEW,
    "state": "approved",
    "decisions": [
        {"user": "approver", "decision": "approve", "comment": "Looks right", "createdAt": "2026-12-03T06:05:00Z"}
    ],
    "allowedActions": [],
    "updatedAt": "2026-12-03T06:05:00Z",
}
SUBMIT_EXAMPLES = [
    OpenApiExample("Submit the draft", request_only=True, value={"message": "Open port 8443 for api.example.com"}),
    OpenApiExample("The review it opened", response_only=True, value=REVIEW),
]
REVIEW_EXAMPLES = [OpenApiExample("A review of revision 2", response_only=True, value=REVIEW)]
REVIEW_LIST_EXAMPLES = [OpenApiExample("One open review", response_only=True, value=[REVIEW])]
DECISION_EXAMPLES = [
    OpenApiExample("With a comment", request_only=True, value={"comment": "Looks right"}),
    OpenApiExample("The review afterwards", response_only=True, value=APPROVED),
]
AUDIT_ENTRY = {
    "id": 1,
    "createdAt": "2026-12-03T06:00:00Z",
    "actor": "editor",
    "action": "review.submit",
    "policy": 1,
    "policyName": "istio-egress/egress-by-egressgateway",
    "revision": 2,
    "revisionHash": REVIEW["contentHash"],
    "cluster": "",
    "target": "",
    "manifests": [],
    "result": {},
    "requestId": "8dbf047af7334b708f2690ea8056bf1a",
    "comment": "Open port 8443 for api.example.com",
    "prevHash": "",
    "hash": "5d41402abc4b2a76b9719d911017c592a0e3c8c7d2b1f4e6a9b8c7d6e5f4a3b2",
}
AUDIT_EXAMPLES = [
    OpenApiExample("One entry", response_only=True, value=[AUDIT_ENTRY], media_type="application/json"),
    OpenApiExample(
        "JSON Lines export", response_only=True, value=json.dumps(AUDIT_ENTRY) + "\n", media_type="application/jsonl"
    ),
    OpenApiExample(
        "CSV export",
        response_only=True,
        value=",".join(AUDIT_ENTRY) + "\r\n" + ",".join(f'"{v}"' if v == [] else str(v) for v in AUDIT_ENTRY.values()),
        media_type="text/csv",
    ),
]
