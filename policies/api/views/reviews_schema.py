"""OpenAPI annotations of the review and audit endpoints."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from policies.api.examples_reviews import (
    AUDIT_EXAMPLES,
    DECISION_EXAMPLES,
    REVIEW_EXAMPLES,
    REVIEW_LIST_EXAMPLES,
)
from policies.api.schema import error_responses
from policies.api.serializers import AuditEntrySerializer, DecisionSerializer, ReviewSerializer

STATE = OpenApiParameter(
    "state",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=["in_review", "approved", "rejected", "withdrawn", "superseded", "applied", "failed"],
    description="Only reviews in this state.",
)
DECISION_ERRORS = error_responses(400, 404, 409, 413, 415)

review_schema = extend_schema_view(
    list=extend_schema(
        summary="List reviews, newest first",
        parameters=[STATE],
        examples=REVIEW_LIST_EXAMPLES,
        responses={200: ReviewSerializer(many=True), **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="Get a review", examples=REVIEW_EXAMPLES, responses={200: ReviewSerializer, **error_responses(404)}
    ),
    approve=extend_schema(
        summary="Approve a review (not your own: 403 SELF_APPROVAL; a closed one: 409)",
        request=DecisionSerializer,
        examples=DECISION_EXAMPLES,
        responses={200: ReviewSerializer, **DECISION_ERRORS},
    ),
    reject=extend_schema(
        summary="Reject a review",
        request=DecisionSerializer,
        examples=DECISION_EXAMPLES,
        responses={200: ReviewSerializer, **DECISION_ERRORS},
    ),
    withdraw=extend_schema(
        summary="Withdraw a review (its submitter, or an admin)",
        request=DecisionSerializer,
        examples=DECISION_EXAMPLES,
        responses={200: ReviewSerializer, **DECISION_ERRORS},
    ),
)

AUDIT_PARAMETERS = [
    OpenApiParameter("policy", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Policy id."),
    OpenApiParameter("actor", OpenApiTypes.STR, OpenApiParameter.QUERY, description="Username."),
    OpenApiParameter("action", OpenApiTypes.STR, OpenApiParameter.QUERY, description="Action, e.g. `review.approve`."),
    OpenApiParameter("since", OpenApiTypes.DATETIME, OpenApiParameter.QUERY, description="Entries at or after."),
    OpenApiParameter(
        "limit", OpenApiTypes.INT, OpenApiParameter.QUERY, description="At most this many (JSON; 1-1000, default 100)."
    ),
    OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        OpenApiParameter.QUERY,
        enum=["json", "jsonl", "csv"],
        default="json",
        description="`jsonl` (JSON Lines) and `csv` export every matching entry, unlimited.",
    ),
]
TEXT = {"type": "string"}

audit_schema = extend_schema_view(
    list=extend_schema(
        summary="The audit log, newest first (JSON, or JSON Lines / CSV export)",
        parameters=AUDIT_PARAMETERS,
        examples=AUDIT_EXAMPLES,
        responses={
            (200, "application/json"): AuditEntrySerializer(many=True),
            (200, "application/jsonl"): OpenApiResponse(TEXT, "One entry per line."),
            (200, "text/csv"): OpenApiResponse(TEXT, "A header row, then one row per entry."),
            **error_responses(400),
        },
    ),
)
