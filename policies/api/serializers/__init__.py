"""Serializers of the REST API, one module per subject."""

from policies.api.serializers.gateways import EgressGatewaySerializer, GatewayPortSerializer
from policies.api.serializers.policies import (
    EgressPolicySummarySerializer,
    PolicyRevisionDetailSerializer,
    PolicyRevisionSerializer,
)
from policies.api.serializers.reviews import (
    AuditEntrySerializer,
    AuditQuerySerializer,
    DecisionSerializer,
    ReviewSerializer,
    SubmitSerializer,
)
from policies.api.serializers.tools import (
    FindingSerializer,
    PolicySimulationSerializer,
    SimulationResultSerializer,
    SimulationSerializer,
    ValidationResultSerializer,
)

__all__ = [
    "AuditEntrySerializer",
    "AuditQuerySerializer",
    "DecisionSerializer",
    "EgressGatewaySerializer",
    "EgressPolicySummarySerializer",
    "FindingSerializer",
    "GatewayPortSerializer",
    "PolicyRevisionDetailSerializer",
    "PolicyRevisionSerializer",
    "PolicySimulationSerializer",
    "ReviewSerializer",
    "SimulationResultSerializer",
    "SimulationSerializer",
    "SubmitSerializer",
    "ValidationResultSerializer",
]
