"""``/api/v1/clusters/``: the clusters policies are applied to, their last check, and a check on demand.

Every signed-in user reads; registering, editing and deleting need the admin role (the cluster
model permissions); ``check/`` needs ``policies.check_cluster`` (operators and admins): it calls
the cluster and stores what it found, but changes nothing on the cluster. Reads never call a
cluster: they show what the last check stored.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from policies import clusters
from policies.api.examples_clusters import CHECK_EXAMPLES, CLUSTER_EXAMPLES, CLUSTER_LIST_EXAMPLES, DETAIL_EXAMPLES
from policies.api.permissions import ModelWritePermissions
from policies.api.schema import error_responses
from policies.api.serializers.clusters import ClusterDetailSerializer, ClusterSerializer
from policies.api.views.base import ApiViewMixin, MappingBodyMixin
from policies.models import Cluster


class ClusterCheckPermission(BasePermission):
    """``check/`` needs ``policies.check_cluster``."""

    message = gettext_lazy("Your role may not check clusters; operators and admins may.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(request.user and request.user.is_authenticated and request.user.has_perm(clusters.CHECK_PERMISSION))


@extend_schema_view(
    list=extend_schema(
        summary="List clusters with their last check",
        examples=CLUSTER_LIST_EXAMPLES,
        responses={200: ClusterSerializer(many=True), **error_responses()},
    ),
    create=extend_schema(
        summary="Register a cluster (admin); the kubeconfig path must exist and hold the context",
        examples=CLUSTER_EXAMPLES,
        responses={201: ClusterSerializer, **error_responses(400, 409, 413, 415)},
    ),
    retrieve=extend_schema(
        summary="Get a cluster, its last check and every policy applied to it (revision, when, who, drift)",
        examples=DETAIL_EXAMPLES,
        responses={200: ClusterDetailSerializer, **error_responses(404)},
    ),
    partial_update=extend_schema(
        summary="Change a cluster's location or description (admin)",
        examples=CLUSTER_EXAMPLES,
        responses={200: ClusterSerializer, **error_responses(400, 404, 413, 415)},
    ),
    destroy=extend_schema(
        summary="Delete a cluster nothing was applied to (admin)", responses={204: None, **error_responses(404, 409)}
    ),
    check=extend_schema(
        summary="Check the connection: targets, versions, outbound mode, drift of every applied policy",
        description="Operators and admins. Always 200 once the check ran: an unreachable or refusing cluster "
        "comes back with `check.reachable` false and the cluster layer's error code (CLUSTER-E001 unreachable, "
        "E002 unauthorized, E009 kubeconfig unusable, E011 no kubeconfig file, E012 no such context).",
        request=None,
        examples=CHECK_EXAMPLES,
        responses={200: ClusterDetailSerializer, **error_responses(404)},
    ),
)
class ClusterViewSet(MappingBodyMixin, ApiViewMixin, viewsets.ModelViewSet):
    """Clusters by name; PUT is not offered (PATCH changes what is sent)."""

    queryset = Cluster.objects.select_related("checked_by")
    serializer_class = ClusterSerializer
    lookup_field = "name"
    # NB: no NUL in a name (PostgreSQL's text cannot hold one: the lookup would fail, not miss); such a URL is a 404
    lookup_value_regex = r"[^/\x00]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_permissions(self) -> list[BasePermission]:
        return [ClusterCheckPermission()] if self.action == "check" else [ModelWritePermissions()]

    def get_serializer_class(self) -> type[BaseSerializer[Cluster]]:
        return ClusterDetailSerializer if self.action in ("retrieve", "check") else ClusterSerializer

    def perform_destroy(self, instance: Cluster) -> None:
        clusters.delete_cluster(instance, user=self.request.user)

    @action(detail=True, methods=["post"])
    def check(self, request: Request, name: str) -> Response:
        cluster = clusters.check_cluster(self.get_object(), user=request.user)
        return Response(self.get_serializer(cluster).data)
