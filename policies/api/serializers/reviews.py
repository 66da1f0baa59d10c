"""Reviews, their decisions, the bodies of the workflow's steps, and audit entries (with their filters)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from rest_framework import serializers

from policies import reviews
from policies.api.serializers.strict import StrictFieldsMixin
from policies.core.review import allowed_actions
from policies.models import Approval, AuditEntry, Deployment, Review

MAX_LIMIT = 1000


class ReviewDecisionSerializer(serializers.ModelSerializer):
    """One decision on a review: who, what, when, and the comment."""

    user: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815 - API field name

    class Meta:
        model = Approval
        fields = ["user", "decision", "comment", "createdAt"]


class DeploymentSerializer(serializers.ModelSerializer):
    """How the review's revision stands on one cluster: applied, or failed with the error."""

    cluster: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)  # noqa: N815 - API field name

    class Meta:
        model = Deployment
        fields = ["cluster", "state", "target", "error", "updatedAt"]


class ReviewSerializer(serializers.ModelSerializer):
    """A review: the frozen revision it asks to approve, where it stands, and its decisions."""

    policy = serializers.IntegerField(source="policy_id", read_only=True)
    policyName = serializers.CharField(source="policy.name", read_only=True)  # noqa: N815 - API field name
    revision = serializers.IntegerField(source="revision.number", read_only=True)
    contentHash = serializers.CharField(source="revision.content_hash", read_only=True)  # noqa: N815 - API field name
    restores = serializers.IntegerField(source="restores.number", read_only=True, allow_null=True, default=None)
    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    decisions = ReviewDecisionSerializer(many=True, read_only=True)
    deployments = DeploymentSerializer(many=True, read_only=True)
    allowedActions = serializers.SerializerMethodField()  # noqa: N815 - API field name
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815 - API field name
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)  # noqa: N815 - API field name
    url = serializers.SerializerMethodField()

    class Meta:
        model = Review
        fields = [
            "id",
            "state",
            "policy",
            "policyName",
            "revision",
            "contentHash",
            "restores",
            "author",
            "message",
            "decisions",
            "deployments",
            "allowedActions",
            "createdAt",
            "updatedAt",
            "url",
        ]

    def get_url(self, review: Review) -> str:
        return reverse("api:review-detail", kwargs={"pk": review.pk})

    def get_allowedActions(self, review: Review) -> list[str]:  # noqa: N802 - API field name
        """The steps the requesting user may take on this review now (what a page offers as buttons)."""
        request = self.context.get("request")
        actor = reviews.actor_of(getattr(request, "user", None))
        steps = ("approve", "reject", "withdraw")
        facts = reviews.facts_of(review)
        allowed = allowed_actions(facts, actor, required_approvals=reviews.required_approvals())
        return [action.value for action in allowed if action.value in steps]


class SubmitSerializer(StrictFieldsMixin, serializers.Serializer):
    """The body of a submission: why the change is made."""

    message = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DecisionSerializer(StrictFieldsMixin, serializers.Serializer):
    """The body of approve / reject / withdraw: an optional comment."""

    comment = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AuditEntrySerializer(serializers.ModelSerializer):
    """One audit entry, with its place in the hash chain."""

    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815 - API field name
    policy = serializers.IntegerField(source="policy_id", read_only=True, allow_null=True)
    policyName = serializers.CharField(source="policy_name", read_only=True)  # noqa: N815 - API field name
    revision = serializers.IntegerField(source="revision_number", read_only=True, allow_null=True)
    revisionHash = serializers.CharField(source="revision_hash", read_only=True)  # noqa: N815 - API field name
    requestId = serializers.CharField(source="request_id", read_only=True)  # noqa: N815 - API field name
    prevHash = serializers.CharField(source="prev_hash", read_only=True)  # noqa: N815 - API field name
    manifests = serializers.ListField(child=serializers.JSONField(), read_only=True)
    result = serializers.DictField(read_only=True)

    class Meta:
        model = AuditEntry
        fields = [
            "id",
            "createdAt",
            "actor",
            "action",
            "policy",
            "policyName",
            "revision",
            "revisionHash",
            "cluster",
            "target",
            "manifests",
            "result",
            "requestId",
            "comment",
            "prevHash",
            "hash",
        ]


class AuditQuerySerializer(serializers.Serializer):
    """The audit list's filters (query parameters); unknown parameters are ignored, as for any GET."""

    policy = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
    actor = serializers.CharField(required=False, max_length=150)
    action = serializers.CharField(required=False, max_length=40)
    since = serializers.DateTimeField(required=False)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT, default=100)
    format = serializers.ChoiceField(choices=["json", "jsonl", "csv"], required=False, default="json")
