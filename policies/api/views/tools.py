"""Stateless tools: ``POST /api/v1/validate/`` and ``POST /api/v1/simulate/``."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from policies import services
from policies.api.parsers import YAML_MEDIA_TYPE, SourcedMapping
from policies.api.schema import POLICY_REF, error_responses, seed_document, seed_policy_examples
from policies.api.serializers import SimulationResultSerializer, SimulationSerializer, ValidationResultSerializer
from policies.api.simulation import simulate_objects
from policies.api.views.base import ApiViewMixin, mapping_body

VALIDATION_EXAMPLES = [
    OpenApiExample("A valid policy", response_only=True, value={"valid": True, "findings": []}),
    OpenApiExample(
        "A wrong policy name",
        response_only=True,
        value={
            "valid": False,
            "findings": [
                {
                    "code": "EGRESS-V3",
                    "severity": "error",
                    "path": "metadata.name",
                    "line": 4,
                    "message": "metadata.name is 'egress-gw'; the policy of gateway egressgateway must be named "
                    "egress-by-egressgateway.",
                }
            ],
        },
    ),
]
SIMULATION_EXAMPLES = [
    OpenApiExample(
        "Seed scenario 2: sleep-a fetches httpbin over HTTP",
        request_only=True,
        value={
            "policies": [seed_document("2")],
            "source": {"namespace": "mytest", "labels": {"app": "sleep-a"}},
            "url": "http://httpbin.org/anything",
            "method": "GET",
            "meshMode": "REGISTRY_ONLY",
        },
    ),
    OpenApiExample(
        "Seed scenario 3: nginx in default is not selected",
        request_only=True,
        value={
            "policies": [seed_document("3")],
            "source": {"namespace": "default", "labels": {"app": "nginx"}},
            "url": "https://www.httpbin.org",
            "method": "GET",
            "meshMode": "REGISTRY_ONLY",
        },
    ),
]


class ValidateView(ApiViewMixin, APIView):
    """Check a custom resource without saving it; every finding at once."""

    @extend_schema(
        summary="Validate a custom resource",
        request={"application/json": POLICY_REF, YAML_MEDIA_TYPE: POLICY_REF},
        examples=[*seed_policy_examples(response=False), *VALIDATION_EXAMPLES],
        responses={200: ValidationResultSerializer, **error_responses(400, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        data = mapping_body(request)
        checked = services.check_document(data)
        findings = checked.findings
        if isinstance(data, SourcedMapping) and data.source is not None:
            findings = [f.with_line(data.source.line_of(f.path)) for f in findings]
        return Response({"valid": checked.ok, "findings": [f.as_dict(_) for f in findings]})


class SimulateView(ApiViewMixin, APIView):
    """Simulate one request through the given policies and Istio objects (same answer as the CLI)."""

    @extend_schema(
        summary="Simulate a request through policies and Istio objects",
        request=SimulationSerializer,
        examples=SIMULATION_EXAMPLES,
        responses={200: SimulationResultSerializer, **error_responses(400, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        serializer = SimulationSerializer(data=mapping_body(request))
        serializer.is_valid(raise_exception=True)
        return Response(simulate_objects(serializer.validated_data))
