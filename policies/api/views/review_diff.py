"""``GET /api/v1/reviews/{id}/diff/``: the review report over the API, as the review page shows it.

``against=applied`` (the default) compares the review's revision with the last revision applied
to ``cluster`` (without one: the latest applied anywhere, or the empty policy); ``against=live``
adds the plan, a server-side dry run against that cluster's live state, and needs ``cluster``.
The view parses the query, reads the review and the cluster, and calls the report services.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from policies.api.views.review_diff_schema import diff_schema
from policies.models import Cluster
from policies.review_plan import TARGETS, review_plan
from policies.review_report import build_report, report_queryset
from policies.services import ServiceError

# NB: the report shows the policy's content and, with a cluster, what is live there: the roles' read permissions.
READ_PERMISSIONS = ("policies.view_review", "policies.view_policyrevision")


class DiffQuerySerializer(serializers.Serializer):
    """The diff's query parameters; unknown ones are ignored, as for any GET."""

    against = serializers.ChoiceField(choices=["applied", "live"], required=False, default="applied")
    cluster = serializers.RegexField(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63, required=False)
    target = serializers.ChoiceField(choices=list(TARGETS), required=False)
    refresh = serializers.BooleanField(required=False, default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["against"] == "live" and not attrs.get("cluster"):
            message = _("Name the cluster whose live state to compare with.")
            raise ValidationError({"cluster": [ErrorDetail(message, code="required")]})
        return attrs


class UnknownCluster(ServiceError):
    """The query names a cluster the console does not know."""

    code = "not_found"
    status = 404


class ReviewDiffMixin:
    """Adds the ``diff`` action to the review viewset."""

    @diff_schema
    @action(detail=True, methods=["get"])
    def diff(self, request: Request, pk: str) -> Response:
        review = self.get_object()  # type: ignore[attr-defined]  # NB: 404 and permissions as for the review itself
        query = DiffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        needed = READ_PERMISSIONS + (("policies.view_cluster",) if query.validated_data.get("cluster") else ())
        if not request.user.has_perms(needed):
            raise PermissionDenied(_("Your role may not read review reports."))
        cluster = _cluster(query.validated_data.get("cluster"))
        review = report_queryset().get(pk=review.pk)
        body = build_report(review, cluster=cluster).as_dict(_)
        body["against"] = query.validated_data["against"]
        body["plan"] = None
        if query.validated_data["against"] == "live" and cluster is not None:
            target, refresh = query.validated_data.get("target"), query.validated_data["refresh"]
            body["plan"] = review_plan(review, cluster, target=target, refresh=refresh)
        return Response(body)


def _cluster(name: str | None) -> Cluster | None:
    if not name:
        return None
    cluster = Cluster.objects.filter(name=name).first()
    if cluster is None:
        raise UnknownCluster(_("No cluster named %(name)s.") % {"name": name}, path="cluster")
    return cluster
