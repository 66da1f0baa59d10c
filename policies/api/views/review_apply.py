"""``POST /api/v1/reviews/{id}/apply/`` and ``/api/v1/jobs/``: start an apply job, follow its progress.

The apply action parses the body, lets ``jobs.start_apply`` decide (the review's rules for every
cluster, the hash, one apply at a time) and answers 202 with the queued job and its ``Location``;
the clusters are contacted by the worker, never by this request. Jobs are read by anyone signed in.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from policies import jobs
from policies.api.examples_jobs import APPLY_EXAMPLES, JOB_EXAMPLES, JOB_LIST_EXAMPLES
from policies.api.permissions import WorkflowStepPermission
from policies.api.schema import error_responses
from policies.api.serializers.jobs import ApplyJobSerializer, ApplyRequestSerializer, JobQuerySerializer
from policies.api.views.base import ApiViewMixin, mapping_body
from policies.jobs import jobs_with_counts, jobs_with_progress
from policies.models import ApplyJob


class ApplyStepPermission(WorkflowStepPermission):
    """Only a role that may apply reaches the body at all (the verb re-checks the review's state)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        return super().has_permission(request, SimpleNamespace(action="apply", workflow_steps={"apply": "apply"}))


class ReviewApplyMixin:
    """The ``apply`` action of the review viewset."""

    @extend_schema(
        summary="Apply (or dry-run) the review's approved revision to clusters, as a background job",
        description="Answers 202 with the queued job at once; follow it at `GET /api/v1/jobs/{id}/`. "
        "An unapproved, withdrawn or superseded review is 409; a revision whose hash changed is 409 "
        "`REVISION_CHANGED`; another apply of the policy running on a cluster is 409 `APPLY_RUNNING` "
        "(the message names that job); a role without the right is 403.",
        request=ApplyRequestSerializer,
        examples=APPLY_EXAMPLES,
        responses={202: ApplyJobSerializer, **error_responses(400, 404, 409, 413, 415)},
    )
    @action(detail=True, methods=["post"], permission_classes=[ApplyStepPermission])
    def apply(self, request: Request, pk: str) -> Response:
        review = self.get_object()  # type: ignore[attr-defined]
        body = ApplyRequestSerializer(data=mapping_body(request))
        body.is_valid(raise_exception=True)
        data = body.validated_data
        try:
            clusters = jobs.resolve_clusters(data["clusters"])
        except jobs.ApplyRequestInvalid as exc:
            if "cluster" in body.initial_data:  # NB: name the field the client sent
                exc.path = "cluster"
            raise
        job = jobs.start_apply(review, clusters, target=data["target"], dry_run=data["dryRun"], user=request.user)
        representation = ApplyJobSerializer(jobs_with_progress().get(pk=job.pk), context={"request": request}).data
        return Response(representation, status=status.HTTP_202_ACCEPTED, headers={"Location": representation["url"]})


STATE = OpenApiParameter(
    "state",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    enum=["queued", "running", "succeeded", "failed"],
    description="Only jobs in this state.",
)
REVIEW = OpenApiParameter("review", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Only this review's jobs.")


@extend_schema_view(
    list=extend_schema(
        summary="Apply jobs, newest first (per-cluster counts; the objects are on each job)",
        parameters=[STATE, REVIEW],
        examples=JOB_LIST_EXAMPLES,
        responses={200: ApplyJobSerializer(many=True), **error_responses(400)},
    ),
    retrieve=extend_schema(
        summary="An apply job's progress: per cluster, per object",
        examples=JOB_EXAMPLES,
        responses={200: ApplyJobSerializer, **error_responses(404)},
    ),
)
class ApplyJobViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Apply jobs and their progress."""

    serializer_class = ApplyJobSerializer
    lookup_value_regex = "[0-9]{1,18}"
    list_limit = 100

    def get_queryset(self) -> QuerySet[ApplyJob]:
        return jobs_with_progress()

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        query = JobQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        filters = {name: value for name, value in query.validated_data.items() if value is not None}
        listed = jobs_with_counts().filter(**filters)[: self.list_limit]
        context = {**self.get_serializer_context(), "summary": True}
        return Response(ApplyJobSerializer(listed, many=True, context=context).data)
