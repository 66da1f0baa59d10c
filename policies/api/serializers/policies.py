"""Policy summaries (collection and create responses) and revisions.

The policy itself travels as its custom resource, not through a serializer: the core's
pydantic model and validation define that shape, so one rule set serves the editor and the API.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from policies.api.schema import POLICY_REF
from policies.models import EgressGateway, EgressPolicy, PolicyRevision


class EgressPolicySummarySerializer(serializers.ModelSerializer):
    """What a list of policies shows: identity, gateway, draft version, latest revision."""

    gateway: serializers.SlugRelatedField[EgressGateway] = serializers.SlugRelatedField(
        slug_field="name", read_only=True
    )
    draftVersion = serializers.IntegerField(source="draft.version", read_only=True)  # noqa: N815 - API field name
    latestRevision = serializers.IntegerField(  # noqa: N815 - API field name
        source="latest_revision", read_only=True, allow_null=True
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815 - API field name
    updatedAt = serializers.DateTimeField(source="draft.updated_at", read_only=True)  # noqa: N815 - API field name
    url = serializers.SerializerMethodField()

    class Meta:
        model = EgressPolicy
        fields = [
            "id",
            "name",
            "namespace",
            "gateway",
            "draftVersion",
            "latestRevision",
            "createdAt",
            "updatedAt",
            "url",
        ]

    def get_url(self, policy: EgressPolicy) -> str:
        return reverse("api:policy-detail", kwargs={"pk": policy.pk})


class PolicyRevisionSerializer(serializers.ModelSerializer):
    """An immutable snapshot of a policy's custom resource, as listed (without the document)."""

    author: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    contentHash = serializers.CharField(source="content_hash", read_only=True)  # noqa: N815 - API field name
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815 - API field name

    class Meta:
        model = PolicyRevision
        fields = ["number", "message", "author", "contentHash", "createdAt"]


class PolicyRevisionDetailSerializer(PolicyRevisionSerializer):
    """One revision with its custom resource."""

    document = serializers.SerializerMethodField()

    class Meta(PolicyRevisionSerializer.Meta):
        fields = [*PolicyRevisionSerializer.Meta.fields, "document"]

    @extend_schema_field(POLICY_REF)
    def get_document(self, revision: PolicyRevision) -> dict[str, Any]:
        return revision.document
