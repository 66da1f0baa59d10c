"""``/api/v1/policies/``: a gateway's policy as its custom resource, with ETag concurrency.

A policy's representation is its working draft, the ASMEgressTrafficPolicy itself. Reading it
returns the draft version as ``ETag``; replacing (PUT) or merge-patching (PATCH) it needs that
tag in ``If-Match``, and the service layer re-checks the version inside its transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db.models import Max
from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from policies import reviews, services
from policies.api.errors import ConflictError
from policies.api.etag import etag_for, expected_version, optional_version
from policies.api.merge_patch import apply_merge_patch
from policies.api.parsers import (
    BoundedJSONParser,
    MergePatchParser,
    SourcedMapping,
    YAMLParser,
    YAMLRenderer,
)
from policies.api.permissions import ModelWritePermissions, WorkflowStepPermission
from policies.api.rendering import manifest_yaml
from policies.api.serializers import (
    EgressPolicySummarySerializer,
    PolicyRevisionDetailSerializer,
    PolicyRevisionSerializer,
    PolicySimulationSerializer,
    ReviewSerializer,
    SubmitSerializer,
)
from policies.api.simulation import simulate_draft, simulation_query
from policies.api.views.base import ApiViewMixin, mapping_body
from policies.api.views.policies_schema import policy_schema
from policies.core.document import policy_to_data
from policies.core.expansion import expand_policy
from policies.core.expansion.errors import ExpansionError
from policies.core.model import EgressPolicy as PolicyModel
from policies.models import EgressPolicy, PolicyDraft
from policies.selectors import DraftSnapshot, draft_snapshot

MANIFEST_TARGETS = ("asm", "istio")


@policy_schema
class EgressPolicyViewSet(ApiViewMixin, viewsets.GenericViewSet):
    """Policies: create from a CR, read and edit the draft, render, simulate, list revisions."""

    queryset = EgressPolicy.objects.select_related("gateway", "draft").prefetch_related("gateway__ports")
    serializer_class = EgressPolicySummarySerializer
    # NB: ASCII digits only: int() also reads "١", "+7" and "1_0", which would give a policy many URLs.
    lookup_value_regex = "[0-9]{1,18}"
    parser_classes = [BoundedJSONParser, MergePatchParser, YAMLParser]
    permission_classes = [ModelWritePermissions]
    read_only_actions = ("simulate",)
    # NB: restoring a revision is an edit that leads to a submission; both need the submit step.
    workflow_steps = {"submit": "submit", "restore": "submit"}

    def get_permissions(self) -> Sequence[Any]:
        if getattr(self, "action", None) in self.workflow_steps:
            return [WorkflowStepPermission()]
        return super().get_permissions()

    def summaries(self) -> Any:
        """Policies with their latest revision number, for the summary representation."""
        return self.get_queryset().annotate(latest_revision=Max("revisions__number"))

    def get_draft(self, pk: str) -> DraftSnapshot:
        """The addressed policy's draft and gateway in one query (what rendering and simulating read)."""
        draft = draft_snapshot(pk)
        if draft is None:
            raise self.not_found()
        self.check_object_permissions(self.request, draft)
        return draft

    def list(self, request: Request) -> Response:
        return Response(self.get_serializer(self.summaries(), many=True).data)

    def create(self, request: Request) -> Response:
        with pinned_lines(request):
            created = services.create_policy(mapping_body(request), user=request.user, message=_("Created via the API"))
        policy = self.summaries().get(pk=created.pk)
        headers = {
            "Location": reverse("api:policy-detail", kwargs={"pk": policy.pk}),
            "ETag": etag_for(policy.draft.version),
        }
        return Response(self.get_serializer(policy).data, status=status.HTTP_201_CREATED, headers=headers)

    def retrieve(self, request: Request, pk: str) -> Response:
        return draft_response(self.get_object().draft)

    def update(self, request: Request, pk: str) -> Response:
        policy = self.get_object()
        version = expected_version(request, policy.draft.version)
        with pinned_lines(request):
            draft = services.save_draft(policy, mapping_body(request), expected_version=version, user=request.user)
        return draft_response(draft)

    def partial_update(self, request: Request, pk: str) -> Response:
        policy = self.get_object()
        version = expected_version(request, policy.draft.version)
        document = apply_merge_patch(policy.draft.document, mapping_body(request))
        draft = services.save_draft(policy, document, expected_version=version, user=request.user)
        return draft_response(draft)

    def destroy(self, request: Request, pk: str) -> Response:
        policy = self.get_object()
        version = optional_version(request, policy.draft.version)
        services.delete_policy(policy, user=request.user, expected_version=version)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["get"], renderer_classes=[YAMLRenderer, JSONRenderer])
    def manifests(self, request: Request, pk: str) -> Response:
        target = request.query_params.get("target", "asm")
        if target not in MANIFEST_TARGETS:
            raise ValidationError({"target": [_("Use target=asm (the custom resource) or target=istio.")]})
        draft, settings = self.get_draft(pk), services.translation_settings()
        try:
            if isinstance(request.accepted_renderer, YAMLRenderer):
                return Response(manifest_yaml(draft.document_json, target, draft.gateway, settings))
            model = PolicyModel.model_validate_json(draft.document_json)
            if target == "asm":
                return Response(policy_to_data(model))
            return Response(expand_policy(model, draft.gateway, settings))
        except ExpansionError as exc:
            raise ConflictError(exc.message, code=exc.code, path=exc.path) from exc

    @action(detail=True, methods=["post"], parser_classes=[BoundedJSONParser, YAMLParser])
    def simulate(self, request: Request, pk: str) -> Response:
        query = simulation_query(PolicySimulationSerializer, request)
        return Response(simulate_draft(self.get_draft(pk), query))

    @action(detail=True, methods=["get"], url_path="revisions")
    def revisions(self, request: Request, pk: str) -> Response:
        revisions = self.get_object().revisions.select_related("author").order_by("-number")
        return Response(PolicyRevisionSerializer(revisions, many=True).data)

    @action(detail=True, methods=["get"], url_path=r"revisions/(?P<number>[0-9]{1,18})")
    def revision(self, request: Request, pk: str, number: str) -> Response:
        policy = self.get_object()
        revision = policy.revisions.select_related("author").filter(number=int(number)).first()
        if revision is None:
            raise NotFound(
                _("Policy %(policy)s has no revision %(number)s.") % {"policy": policy.name, "number": number}
            )
        return Response(PolicyRevisionDetailSerializer(revision).data)

    @action(detail=True, methods=["post"], parser_classes=[BoundedJSONParser, YAMLParser])
    def submit(self, request: Request, pk: str) -> Response:
        policy = self.get_object()
        body = SubmitSerializer(data=mapping_body(request))
        body.is_valid(raise_exception=True)
        review = reviews.submit_review(policy, user=request.user, message=body.validated_data["message"])
        location = reverse("api:review-detail", kwargs={"pk": review.pk})
        data = ReviewSerializer(review, context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_201_CREATED, headers={"Location": location})

    @action(
        detail=True,
        methods=["post"],
        url_path=r"revisions/(?P<number>[0-9]{1,18})/restore",
        parser_classes=[BoundedJSONParser, YAMLParser],
    )
    def restore(self, request: Request, pk: str, number: str) -> Response:
        draft = reviews.restore_revision(self.get_object(), int(number), user=request.user)
        return draft_response(draft)


def draft_response(draft: PolicyDraft) -> Response:
    """The draft's CR in canonical key order, tagged with its version."""
    canonical = policy_to_data(PolicyModel.model_validate(draft.document))
    return Response(canonical, headers={"ETag": etag_for(draft.version)})


@contextmanager
def pinned_lines(request: Request) -> Iterator[None]:
    """Pin the findings of a refused YAML body to its source lines before they are reported."""
    try:
        yield
    except services.ServiceError as exc:
        data = request.data
        if isinstance(data, SourcedMapping) and data.source is not None:
            exc.findings = [f.with_line(data.source.line_of(f.path)) for f in exc.findings]
        raise
