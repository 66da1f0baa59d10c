"""Views of the REST API, one module per subject."""

from policies.api.views.base import NotFoundView
from policies.api.views.gateways import EgressGatewayViewSet
from policies.api.views.policies import EgressPolicyViewSet
from policies.api.views.reviews import AuditEntryViewSet, ReviewViewSet
from policies.api.views.tools import SimulateView, ValidateView

__all__ = [
    "AuditEntryViewSet",
    "EgressGatewayViewSet",
    "EgressPolicyViewSet",
    "NotFoundView",
    "ReviewViewSet",
    "SimulateView",
    "ValidateView",
]
