"""Serializers of the REST API, one module per subject."""

from policies.api.serializers.gateways import EgressGatewaySerializer, GatewayPortSerializer
from policies.api.serializers.policies import (
    EgressPolicySummarySerializer,
    PolicyRevisionDetailSerializer,
    PolicyRevisionSerializer,
)
from policies.api.serializers.tools import (
    FindingSerializer,
    PolicySimulationSerializer,
    SimulationResultSerializer,
    SimulationSerializer,
    ValidationResultSerializer,
)

__all__ = [
    "EgressGatewaySerializer",
    "EgressPolicySummarySerializer",
    "FindingSerializer",
    "GatewayPortSerializer",
    "PolicyRevisionDetailSerializer",
    "PolicyRevisionSerializer",
    "PolicySimulationSerializer",
    "SimulationResultSerializer",
    "SimulationSerializer",
    "ValidationResultSerializer",
]
