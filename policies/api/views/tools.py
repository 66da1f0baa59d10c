"""Stateless tools: ``POST /api/v1/validate/`` and ``POST /api/v1/simulate/``."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from policies import services
from policies.api.examples import SIMULATION_EXAMPLES, VALIDATION_EXAMPLES, seed_policy_examples
from policies.api.parsers import YAML_MEDIA_TYPE, SourcedMapping
from policies.api.schema import POLICY_REF, error_responses
from policies.api.serializers import SimulationResultSerializer, SimulationSerializer, ValidationResultSerializer
from policies.api.simulation import simulate_objects, simulation_query
from policies.api.views.base import ApiViewMixin, mapping_body
from policies.core.size import capped


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
        listed = capped(findings, services.MAX_FINDINGS)
        return Response({"valid": checked.ok, "findings": [f.as_dict(_) for f in listed]})


class SimulateView(ApiViewMixin, APIView):
    """Simulate one request through the given policies and Istio objects (same answer as the CLI)."""

    @extend_schema(
        summary="Simulate a request through policies and Istio objects",
        request=SimulationSerializer,
        examples=SIMULATION_EXAMPLES,
        responses={200: SimulationResultSerializer, **error_responses(400, 413, 415)},
    )
    def post(self, request: Request) -> Response:
        return Response(simulate_objects(simulation_query(SimulationSerializer, request)))
