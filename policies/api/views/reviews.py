"""``/api/v1/reviews/`` and ``/api/v1/audit/``: the review workflow's steps and its audit trail.

The views parse, call one workflow verb of ``policies.reviews`` (which asks the core's rule
table whether this user may take the step) and render. Reading needs an account; reading the
audit log needs ``policies.view_auditentry`` (every role has it); each step's own permission is
checked by the verb, so the API, the admin and the console refuse exactly the same things.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils.translation import gettext as _
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ErrorDetail, ValidationError
from rest_framework.permissions import DjangoModelPermissions
from rest_framework.request import Request
from rest_framework.response import Response

from policies import reviews
from policies.api.permissions import WorkflowStepPermission
from policies.api.serializers import AuditEntrySerializer, AuditQuerySerializer, DecisionSerializer, ReviewSerializer
from policies.api.views.base import ApiViewMixin, mapping_body
from policies.api.views.review_apply import ReviewApplyMixin
from policies.api.views.review_diff import ReviewDiffMixin
from policies.api.views.reviews_schema import audit_schema, review_schema
from policies.models import AuditEntry, Review

CSV_FIELDS = AuditEntrySerializer.Meta.fields


@review_schema
class ReviewViewSet(
    ReviewDiffMixin,
    ReviewApplyMixin,
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """Reviews, newest first; approve, reject or withdraw one."""

    queryset = Review.objects.select_related("policy", "revision", "restores", "author").prefetch_related(
        "decisions__user", "deployments__cluster", "contributors"
    )
    serializer_class = ReviewSerializer
    permission_classes = [WorkflowStepPermission]
    workflow_steps = {"approve": "approve", "reject": "reject", "withdraw": "withdraw"}
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self) -> QuerySet[Review]:
        queryset = super().get_queryset()
        state = self.request.query_params.get("state")
        if self.action != "list" or state is None:
            return queryset
        if state not in Review.State.values:
            choices = ", ".join(Review.State.values)
            message = _("Use one of: %(choices)s.") % {"choices": choices}
            raise ValidationError({"state": [ErrorDetail(message, code="invalid_choice")]})
        return queryset.filter(state=state)

    def _decide(self, request: Request, verb: Any) -> Response:
        review = self.get_object()
        body = DecisionSerializer(data=mapping_body(request))
        body.is_valid(raise_exception=True)
        review = verb(review, user=request.user, comment=body.validated_data["comment"])
        return Response(self.get_serializer(self.get_queryset().get(pk=review.pk)).data)

    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        return self._decide(request, reviews.approve_review)

    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        return self._decide(request, reviews.reject_review)

    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str) -> Response:
        return self._decide(request, reviews.withdraw_review)


class AuditReadPermission(DjangoModelPermissions):
    """Reading the audit log needs ``policies.view_auditentry``."""

    view = ["%(app_label)s.view_%(model_name)s"]
    perms_map = {**DjangoModelPermissions.perms_map, "GET": view, "HEAD": view}


@audit_schema
class AuditEntryViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """The audit log, newest first, filtered; ``?format=jsonl`` or ``csv`` exports every matching entry."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    permission_classes = [AuditReadPermission]

    def list(self, request: Request) -> Any:
        query = AuditQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        entries = filtered_entries(self.get_queryset(), query.validated_data)
        export = query.validated_data["format"]
        if export == "json":
            limited = entries[: query.validated_data["limit"]]
            return Response(self.get_serializer(limited, many=True).data)
        lines = jsonl_lines(entries) if export == "jsonl" else csv_lines(entries)
        content_type = "application/jsonl" if export == "jsonl" else "text/csv; charset=utf-8"
        response = StreamingHttpResponse(lines, content_type=content_type, status=status.HTTP_200_OK)
        response["Content-Disposition"] = f'attachment; filename="audit.{export}"'
        return response


def filtered_entries(entries: QuerySet[AuditEntry], query: dict[str, Any]) -> QuerySet[AuditEntry]:
    """The entries matching the audit list's filters, newest first."""
    lookups = {"policy": "policy_id", "actor": "actor", "action": "action", "since": "created_at__gte"}
    return entries.filter(**{lookup: query[name] for name, lookup in lookups.items() if name in query})


def jsonl_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """One JSON object per line, as the JSON list shows each entry."""
    for entry in entries.iterator(chunk_size=500):
        yield json.dumps(AuditEntrySerializer(entry).data, ensure_ascii=False) + "\n"


def csv_lines(entries: QuerySet[AuditEntry]) -> Iterator[str]:
    """A header row, then one row per entry; manifests and result as JSON text."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_FIELDS)
    for entry in entries.iterator(chunk_size=500):
        data = AuditEntrySerializer(entry).data
        writer.writerow([_cell(data[name]) for name in CSV_FIELDS])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def _cell(value: Any) -> Any:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, dict | list) else value
