"""Clusters: where the console reaches them (never a credential), and what their last check found."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from policies import clusters
from policies.api.errors import ConflictError
from policies.api.serializers.strict import StrictFieldsMixin
from policies.cluster_status import policy_statuses
from policies.models import Cluster, ClusterPolicyDrift, dns_label
from policies.services import ServiceError

# NB: the service names model fields; the API names them in camelCase.
API_FIELDS = {"kubeconfig_path": "kubeconfigPath", "context": "context", "in_cluster": "inCluster"}


class ClusterErrorSerializer(serializers.Serializer):
    """A cluster-layer error: stable code and a message without secrets."""

    code = serializers.CharField()
    message = serializers.CharField()


class SidecarOverrideSerializer(serializers.Serializer):
    """A Sidecar that sets the outbound mode of its namespace's proxies, or of the workloads it selects."""

    namespace = serializers.CharField()
    sidecar = serializers.CharField(help_text="The Sidecar's name.")
    workloads = serializers.CharField(help_text="Its workloadSelector labels (k=v,...); empty: the whole namespace.")
    mode = serializers.CharField(help_text="REGISTRY_ONLY or ALLOW_ANY.")


class UnmodelledSidecarSerializer(serializers.Serializer):
    """A Sidecar the simulator cannot read, with the simulator's code."""

    sidecar = serializers.CharField(help_text="namespace/name")
    code = serializers.CharField()
    message = serializers.CharField()


class ClusterSidecarsSerializer(serializers.Serializer):
    """What the last check read of the cluster's Sidecars (simulations with the cluster use them)."""

    state = serializers.ChoiceField(
        choices=["read", "unknown"],
        allow_null=True,
        help_text="read: every Sidecar was listed; unknown: the list failed (error says why) and simulations use "
        "the mesh-wide mode alone; null: never checked.",
    )
    count = serializers.IntegerField(allow_null=True, help_text="How many Sidecars; null unless read.")
    error = ClusterErrorSerializer(allow_null=True)
    overrides = SidecarOverrideSerializer(
        many=True, help_text="Sidecars that set an outbound mode, but the root namespace's default."
    )
    unmodelled = UnmodelledSidecarSerializer(
        many=True, help_text="Sidecars the simulator cannot read: a simulation with this cluster is refused."
    )


class ClusterCheckSerializer(serializers.Serializer):
    """What the last connection check found; ``checkedAt`` null when never checked."""

    checkedAt = serializers.DateTimeField(source="checked_at", allow_null=True)  # noqa: N815 - API field name
    checkedBy = serializers.SerializerMethodField()  # noqa: N815 - API field name
    reachable = serializers.BooleanField(allow_null=True)
    error = serializers.SerializerMethodField()
    targets = serializers.ListField(child=serializers.ChoiceField(choices=["asm", "istio"]))
    versions = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), help_text="API group → the versions it serves."
    )
    outboundMode = serializers.CharField(  # noqa: N815 - API field name
        source="outbound_mode",
        allow_null=True,
        help_text="REGISTRY_ONLY or ALLOW_ANY; null when unknown. Under ALLOW_ANY an egress policy restricts nothing.",
    )
    outboundModeSource = serializers.CharField(  # noqa: N815 - API field name
        source="outbound_mode_source",
        allow_null=True,
        help_text="sidecar (a root-namespace Sidecar), mesh-config, istio-default (the mesh config names no mode) "
        "or none (no istio ConfigMap).",
    )
    outboundModeOrigin = serializers.CharField(  # noqa: N815 - API field name
        source="outbound_mode_origin", allow_null=True, help_text="The object the mode was read from (namespace/name)."
    )
    outboundModeError = serializers.SerializerMethodField()  # noqa: N815 - API field name
    sidecars = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_checkedBy(self, cluster: Cluster) -> str | None:  # noqa: N802 - follows the field name
        return cluster.checked_by.username if cluster.checked_by else None

    @extend_schema_field(ClusterErrorSerializer(allow_null=True))
    def get_error(self, cluster: Cluster) -> dict[str, str] | None:
        return _error(cluster.check_error_code, cluster.check_error_message)

    @extend_schema_field(ClusterErrorSerializer(allow_null=True))
    def get_outboundModeError(self, cluster: Cluster) -> dict[str, str] | None:  # noqa: N802 - follows the field name
        return _error(cluster.outbound_error_code, cluster.outbound_error_message)

    @extend_schema_field(ClusterSidecarsSerializer)
    def get_sidecars(self, cluster: Cluster) -> dict[str, Any]:
        return clusters.ClusterSidecars.of(cluster).summary()

    def to_representation(self, instance: Cluster) -> dict[str, Any]:
        data = super().to_representation(instance)
        for key in ("outboundMode", "outboundModeSource", "outboundModeOrigin"):
            data[key] = data[key] or None
        return data


def _error(code: str, message: str) -> dict[str, str] | None:
    return {"code": code, "message": message} if code else None


class ClusterSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """A cluster reached by kubeconfig path + context, or by the console's in-cluster service account."""

    name = serializers.CharField(max_length=63, validators=[dns_label])
    inCluster = serializers.BooleanField(  # noqa: N815 - API field name
        source="in_cluster", default=False, help_text="Use the console pod's own service account."
    )
    kubeconfigPath = serializers.CharField(  # noqa: N815 - API field name
        source="kubeconfig_path",
        max_length=500,
        allow_blank=True,
        default="",
        help_text="Absolute path of a kubeconfig file on the console's host; checked on save.",
    )
    description = serializers.CharField(max_length=200, allow_blank=True, default="")
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815 - API field name
    check = ClusterCheckSerializer(source="*", read_only=True)
    url = serializers.SerializerMethodField()

    class Meta:
        model = Cluster
        fields = ["name", "inCluster", "kubeconfigPath", "context", "description", "createdAt", "check", "url"]
        # NB: not a declared field: a serializer's ``context`` attribute is its rendering context.
        extra_kwargs = {"context": {"help_text": "A context of that kubeconfig (default: its current context)."}}

    @extend_schema_field(OpenApiTypes.STR)
    def get_url(self, cluster: Cluster) -> str:
        return f"/api/v1/clusters/{cluster.name}/"

    def validate_name(self, value: str) -> str:
        if self.instance is not None and value != self.instance.name:
            raise serializers.ValidationError(_("A cluster cannot be renamed; register a new one."), code="immutable")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        def current(name: str) -> Any:
            return attrs.get(name, getattr(self.instance, name, "") if self.instance else "")

        try:
            clusters.validate_location(
                in_cluster=bool(current("in_cluster")),
                kubeconfig_path=current("kubeconfig_path"),
                context=current("context"),
            )
        except ServiceError as exc:
            field = API_FIELDS.get(exc.path, exc.path)
            raise serializers.ValidationError({field: [serializers.ErrorDetail(exc.message, code=exc.code)]}) from exc
        return attrs

    def create(self, validated_data: dict[str, Any]) -> Cluster:
        return self._save(Cluster(**validated_data), created=True)

    def update(self, instance: Cluster, validated_data: dict[str, Any]) -> Cluster:
        for name, value in validated_data.items():
            setattr(instance, name, value)
        return self._save(instance, created=False)

    def _save(self, cluster: Cluster, *, created: bool) -> Cluster:
        try:
            return clusters.save_cluster(cluster, user=self.context["request"].user, created=created)
        except IntegrityError as exc:
            raise ConflictError(
                _("A cluster named %(name)s already exists.") % {"name": cluster.name}, path="name"
            ) from exc


class PolicyStatusSerializer(serializers.Serializer):
    """One policy on the cluster: the revision applied there, when and by whom, and its drift as last checked."""

    policy = serializers.CharField(source="applied.policy.name")
    policyId = serializers.IntegerField(source="applied.policy.pk")  # noqa: N815 - API field name
    revision = serializers.IntegerField(source="applied.revision.number")
    contentHash = serializers.CharField(source="applied.revision.content_hash")  # noqa: N815 - API field name
    target = serializers.CharField(source="applied.target")
    appliedAt = serializers.DateTimeField(source="applied.at")  # noqa: N815 - API field name
    appliedBy = serializers.CharField(source="applied.by")  # noqa: N815 - API field name
    drift = serializers.ChoiceField(choices=ClusterPolicyDrift.State.values)
    driftCheckedAt = serializers.DateTimeField(source="drift_checked_at", allow_null=True)  # noqa: N815
    driftedObjects = serializers.ListField(source="drifted_objects", child=serializers.DictField())  # noqa: N815
    driftError = serializers.CharField(source="drift_error")  # noqa: N815 - API field name


class ClusterDetailSerializer(ClusterSerializer):
    """A cluster with every policy applied to it."""

    policies = serializers.SerializerMethodField()

    class Meta(ClusterSerializer.Meta):
        fields = [*ClusterSerializer.Meta.fields, "policies"]

    @extend_schema_field(PolicyStatusSerializer(many=True))
    def get_policies(self, cluster: Cluster) -> list[dict[str, Any]]:
        return list(PolicyStatusSerializer(policy_statuses(cluster), many=True).data)
