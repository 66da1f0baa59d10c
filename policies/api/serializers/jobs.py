"""Apply jobs: the body of ``POST /reviews/{id}/apply/`` and the job with its per-cluster, per-object progress."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from rest_framework import serializers

from policies.api.serializers.strict import StrictFieldsMixin
from policies.models import ApplyJob, ApplyJobCluster, ApplyJobObject

MAX_CLUSTERS = 50
OUTCOMES = [choice for choice, _label in ApplyJobObject.Outcome.choices]


class ApplyRequestSerializer(StrictFieldsMixin, serializers.Serializer):
    """Where and how to apply: one ``cluster`` or several ``clusters``, the target, and whether to only dry-run."""

    cluster = serializers.CharField(required=False, max_length=63, help_text="One stored cluster's name.")
    clusters = serializers.ListField(
        child=serializers.CharField(max_length=63),
        required=False,
        min_length=1,
        max_length=MAX_CLUSTERS,
        help_text="Several stored clusters, applied in parallel.",
    )
    target = serializers.ChoiceField(choices=["asm", "istio"], help_text="The CR itself (asm) or its Istio expansion.")
    dryRun = serializers.BooleanField(  # noqa: N815 - API field name
        required=False, default=False, help_text="Plan only (server-side dry run); nothing is written."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("cluster" in attrs) == ("clusters" in attrs):
            raise serializers.ValidationError(
                {"cluster": [_("Give exactly one of cluster or clusters.")]}, code="required"
            )
        attrs["clusters"] = attrs.get("clusters") or [attrs.pop("cluster")]
        return attrs


class ApplyJobObjectSerializer(serializers.ModelSerializer):
    """One object: its outcome so far (``pending`` until written), the error, the field-level changes."""

    errorCode = serializers.CharField(source="error_code", read_only=True)  # noqa: N815 - API field name
    changes = serializers.ListField(child=serializers.DictField(), read_only=True)

    class Meta:
        model = ApplyJobObject
        fields = ["kind", "namespace", "name", "outcome", "errorCode", "message", "changes"]


class ApplyJobClusterSerializer(serializers.ModelSerializer):
    """One cluster of a job: its state, the error that failed it, counts per outcome and (in detail) the objects."""

    cluster: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(slug_field="name", read_only=True)
    errorCode = serializers.CharField(source="error_code", read_only=True)  # noqa: N815 - API field name
    errorMessage = serializers.CharField(source="error_message", read_only=True)  # noqa: N815 - API field name
    startedAt = serializers.DateTimeField(source="started_at", read_only=True)  # noqa: N815 - API field name
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True)  # noqa: N815 - API field name
    counts = serializers.SerializerMethodField()
    objects = ApplyJobObjectSerializer(source="items", many=True, read_only=True)

    class Meta:
        model = ApplyJobCluster
        fields = ["cluster", "state", "errorCode", "errorMessage", "startedAt", "finishedAt", "counts", "objects"]

    def to_representation(self, instance: ApplyJobCluster) -> dict[str, Any]:
        data = super().to_representation(instance)
        if self.context.get("summary"):  # NB: the job list shows counts; the objects are on the job itself
            data.pop("objects")
        return data

    def get_counts(self, row: ApplyJobCluster) -> dict[str, int]:
        """How many objects have each outcome (every outcome named, zero included)."""
        if hasattr(row, "count_pending"):  # NB: counted by the database (the job list, ``jobs_with_counts``)
            return {outcome: getattr(row, f"count_{outcome}") for outcome in OUTCOMES}
        counts = dict.fromkeys(OUTCOMES, 0)
        for item in row.items.all():
            counts[item.outcome] += 1
        return counts


class ApplyJobSerializer(serializers.ModelSerializer):
    """An apply job: what is applied where, by whom, where it stands, and every cluster's progress."""

    review = serializers.IntegerField(source="review_id", read_only=True)
    policy = serializers.IntegerField(source="review.policy_id", read_only=True)
    policyName = serializers.CharField(source="review.policy.name", read_only=True)  # noqa: N815 - API field name
    revision = serializers.IntegerField(source="revision.number", read_only=True)
    contentHash = serializers.CharField(source="content_hash", read_only=True)  # noqa: N815 - API field name
    dryRun = serializers.BooleanField(source="dry_run", read_only=True)  # noqa: N815 - API field name
    user: serializers.SlugRelatedField[Any] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    requestId = serializers.CharField(source="request_id", read_only=True)  # noqa: N815 - API field name
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815 - API field name
    startedAt = serializers.DateTimeField(source="started_at", read_only=True)  # noqa: N815 - API field name
    finishedAt = serializers.DateTimeField(source="finished_at", read_only=True)  # noqa: N815 - API field name
    clusters = ApplyJobClusterSerializer(many=True, read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = ApplyJob
        fields = [
            "id",
            "review",
            "policy",
            "policyName",
            "revision",
            "contentHash",
            "target",
            "dryRun",
            "state",
            "user",
            "requestId",
            "createdAt",
            "startedAt",
            "finishedAt",
            "clusters",
            "url",
        ]

    def get_url(self, job: ApplyJob) -> str:
        return reverse("api:job-detail", kwargs={"pk": job.pk})


class JobQuerySerializer(serializers.Serializer):
    """The job list's filters (query parameters); unknown parameters are ignored, as for any GET."""

    state = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed"], required=False)
    review = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1)
