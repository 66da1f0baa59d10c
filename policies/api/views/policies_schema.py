"""OpenAPI annotations of the policy endpoints, kept apart so the viewset reads as behaviour.

Request and response bodies of a policy are the custom resource (``POLICY_REF``), in JSON or
YAML; the examples are the seed's scenarios.
"""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from policies.api.examples import (
    DRAFT_SIMULATION_EXAMPLES,
    MANIFEST_EXAMPLES,
    MANIFEST_YAML_EXAMPLES,
    PATCH_EXAMPLE,
    REVISION_DETAIL_EXAMPLE,
    REVISION_EXAMPLE,
    SUMMARY_EXAMPLE,
    seed_policy_examples,
)
from policies.api.examples_reviews import SUBMIT_EXAMPLES
from policies.api.parsers import MERGE_PATCH_MEDIA_TYPE, YAML_MEDIA_TYPE
from policies.api.schema import POLICY_REF, error_responses
from policies.api.serializers import (
    EgressPolicySummarySerializer,
    PolicyRevisionDetailSerializer,
    PolicyRevisionSerializer,
    PolicySimulationSerializer,
    ReviewSerializer,
    SimulationResultSerializer,
    SubmitSerializer,
)

CR_BODY = {"application/json": POLICY_REF, YAML_MEDIA_TYPE: POLICY_REF}
MERGE_PATCH_SCHEMA = {
    "type": "object",
    "additionalProperties": True,
    "description": "A JSON merge patch (RFC 7396) of the custom resource: null removes a key, lists are replaced.",
}
PATCH_BODY = {
    MERGE_PATCH_MEDIA_TYPE: MERGE_PATCH_SCHEMA,
    "application/json": MERGE_PATCH_SCHEMA,
    YAML_MEDIA_TYPE: MERGE_PATCH_SCHEMA,
}
ETAG_HEADER = OpenApiParameter(
    "ETag",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[200, 201],
    description='The draft version, quoted (e.g. `"3"`); send it back in If-Match to edit.',
)
IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=True,
    description='ETag of the draft you edited (e.g. `"3"`), or `*` to overwrite whatever is current.',
)
IF_MATCH_OPTIONAL = OpenApiParameter(
    "If-Match", OpenApiTypes.STR, OpenApiParameter.HEADER, description="Optional: delete only if still this version."
)
TARGET = OpenApiParameter(
    "target",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=["asm", "istio"],
    default="asm",
    description="`asm`: the custom resource; `istio`: its Istio objects in apply order (multi-document YAML).",
)
MANIFESTS_DESCRIPTION = (
    "YAML by default (`application/yaml`): a YAML stream, one document for target=asm and one per Istio object "
    "for target=istio. With `Accept: application/json`: the custom resource, or an array of Istio objects."
)
MANIFESTS_YAML = OpenApiResponse(
    {
        "type": "string",
        "description": (
            "A YAML stream, not a single YAML value: target=asm is one document (the custom resource); "
            "target=istio is one document per Istio object, separated by `---` lines, in apply order. "
            "Read it with a multi-document loader (PyYAML `safe_load_all`, js-yaml `loadAll`) or pipe it "
            "to `kubectl apply -f -`."
        ),
    },
    MANIFESTS_DESCRIPTION,
    examples=MANIFEST_YAML_EXAMPLES,
)
MANIFESTS_JSON = OpenApiResponse(
    {"oneOf": [POLICY_REF, {"type": "array", "items": {"type": "object", "additionalProperties": True}}]},
    MANIFESTS_DESCRIPTION,
    examples=MANIFEST_EXAMPLES,
)
CR_RESPONSE = OpenApiResponse(
    POLICY_REF, "The policy's draft custom resource.", examples=seed_policy_examples(request=False)
)

policy_schema = extend_schema_view(
    list=extend_schema(
        summary="List policies",
        examples=[SUMMARY_EXAMPLE],
        responses={200: EgressPolicySummarySerializer(many=True), **error_responses()},
    ),
    create=extend_schema(
        summary="Create a policy (and its first draft) from a custom resource",
        request=CR_BODY,
        examples=[*seed_policy_examples(response=False), SUMMARY_EXAMPLE],
        parameters=[ETAG_HEADER],
        responses={201: EgressPolicySummarySerializer, **error_responses(400, 409, 413, 415)},
    ),
    retrieve=extend_schema(
        summary="Get a policy's draft custom resource",
        parameters=[ETAG_HEADER],
        responses={200: CR_RESPONSE, **error_responses(404)},
    ),
    update=extend_schema(
        summary="Replace the draft",
        request=CR_BODY,
        examples=seed_policy_examples(response=False),
        parameters=[IF_MATCH, ETAG_HEADER],
        responses={200: CR_RESPONSE, **error_responses(400, 404, 412, 413, 415, 428)},
    ),
    partial_update=extend_schema(
        summary="Merge-patch the draft (RFC 7396)",
        request=PATCH_BODY,
        examples=[PATCH_EXAMPLE],
        parameters=[IF_MATCH, ETAG_HEADER],
        responses={200: CR_RESPONSE, **error_responses(400, 404, 412, 413, 415, 428)},
    ),
    destroy=extend_schema(
        summary="Delete a policy with its draft and revisions",
        parameters=[IF_MATCH_OPTIONAL],
        responses={204: None, **error_responses(404, 412)},
    ),
    manifests=extend_schema(
        summary="Render the draft as YAML: the CR or its Istio objects",
        parameters=[TARGET],
        responses={
            (200, YAML_MEDIA_TYPE): MANIFESTS_YAML,
            (200, "application/json"): MANIFESTS_JSON,
            **error_responses(400, 404, 409),
        },
    ),
    simulate=extend_schema(
        summary="Simulate a request against the draft",
        request=PolicySimulationSerializer,
        examples=DRAFT_SIMULATION_EXAMPLES,
        responses={200: SimulationResultSerializer, **error_responses(400, 404, 409, 413, 415)},
    ),
    revisions=extend_schema(
        summary="List a policy's revisions, newest first",
        examples=[REVISION_EXAMPLE],
        responses={200: PolicyRevisionSerializer(many=True), **error_responses(404)},
    ),
    submit=extend_schema(
        summary="Submit the draft for review: it is frozen as a revision (409 while a review is open)",
        request=SubmitSerializer,
        examples=SUBMIT_EXAMPLES,
        responses={201: ReviewSerializer, **error_responses(400, 404, 409, 413, 415)},
    ),
    restore=extend_schema(
        summary="Restore a revision's content as the draft (then submit it for review)",
        request=None,
        parameters=[ETAG_HEADER],
        responses={200: CR_RESPONSE, **error_responses(400, 404, 412, 413)},
    ),
    revision=extend_schema(
        summary="Get one revision with its custom resource",
        examples=[REVISION_DETAIL_EXAMPLE],
        responses={200: PolicyRevisionDetailSerializer, **error_responses(404)},
    ),
)
