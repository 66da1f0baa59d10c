"""``/api/v1/gateways/``: the egress gateways policies can target, addressed by name."""

from __future__ import annotations

from django.db import transaction
from django.db.models import ProtectedError
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets

from policies.api.errors import ConflictError
from policies.api.examples import GATEWAY_EXAMPLE, GATEWAY_RESPONSE_EXAMPLE
from policies.api.permissions import ModelWritePermissions
from policies.api.schema import error_responses
from policies.api.serializers import EgressGatewaySerializer
from policies.api.views.base import ApiViewMixin, MappingBodyMixin
from policies.models import EgressGateway

GATEWAY_EXAMPLES = [GATEWAY_EXAMPLE, GATEWAY_RESPONSE_EXAMPLE]


@extend_schema_view(
    list=extend_schema(
        summary="List egress gateways",
        examples=[GATEWAY_RESPONSE_EXAMPLE],
        responses={200: EgressGatewaySerializer(many=True), **error_responses()},
    ),
    create=extend_schema(
        summary="Create an egress gateway",
        examples=GATEWAY_EXAMPLES,
        responses={201: EgressGatewaySerializer, **error_responses(400, 409, 413, 415)},
    ),
    retrieve=extend_schema(
        summary="Get an egress gateway",
        examples=GATEWAY_EXAMPLES,
        responses={200: EgressGatewaySerializer, **error_responses(404)},
    ),
    update=extend_schema(
        summary="Replace an egress gateway (its name cannot change)",
        examples=GATEWAY_EXAMPLES,
        responses={200: EgressGatewaySerializer, **error_responses(400, 404, 413, 415)},
    ),
    partial_update=extend_schema(
        summary="Change some fields of an egress gateway",
        examples=GATEWAY_EXAMPLES,
        responses={200: EgressGatewaySerializer, **error_responses(400, 404, 413, 415)},
    ),
    destroy=extend_schema(
        summary="Delete an egress gateway that has no policy", responses={204: None, **error_responses(404, 409)}
    ),
)
class EgressGatewayViewSet(MappingBodyMixin, ApiViewMixin, viewsets.ModelViewSet):
    """Egress gateways; one that still has a policy cannot be deleted (409)."""

    queryset = EgressGateway.objects.select_related("policy").prefetch_related("ports")
    serializer_class = EgressGatewaySerializer
    lookup_field = "name"
    lookup_value_regex = "[^/]+"
    permission_classes = [ModelWritePermissions]

    def perform_destroy(self, instance: EgressGateway) -> None:
        try:
            with transaction.atomic():
                instance.delete()
        except ProtectedError as exc:
            raise ConflictError(
                _("Gateway %(name)s still has policy %(policy)s; delete the policy first.")
                % {"name": instance.name, "policy": instance.policy.name},
                code="gateway_in_use",
            ) from exc
