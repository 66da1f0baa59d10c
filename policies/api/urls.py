"""URLs of the REST API, mounted at ``/api/v1/``; anything else under it is a JSON 404."""

from django.urls import path, re_path
from rest_framework.routers import SimpleRouter

from policies.api.views import (
    AuditEntryViewSet,
    EgressGatewayViewSet,
    EgressPolicyViewSet,
    NotFoundView,
    ReviewViewSet,
    SimulateView,
    ValidateView,
)
from policies.api.views.clusters import ClusterViewSet
from policies.api.views.discoveries import DiscoveryViewSet
from policies.api.views.review_apply import ApplyJobViewSet

app_name = "api"

router = SimpleRouter()
router.register("gateways", EgressGatewayViewSet, basename="gateway")
router.register("policies", EgressPolicyViewSet, basename="policy")
router.register("reviews", ReviewViewSet, basename="review")
router.register("audit", AuditEntryViewSet, basename="audit")
router.register("jobs", ApplyJobViewSet, basename="job")
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("discoveries", DiscoveryViewSet, basename="discovery")

# NB: the tools come before the router's dozen patterns only because resolving tries them in order.
urlpatterns = [
    path("validate/", ValidateView.as_view(), name="validate"),
    path("simulate/", SimulateView.as_view(), name="simulate"),
    *router.urls,
    # NB: [\s\S], not '.': a path with a newline (%0A) would otherwise fall through to the HTML 404.
    re_path(r"^[\s\S]*$", NotFoundView.as_view(), name="not-found"),
]
