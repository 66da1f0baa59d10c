"""Bodies of the stateless tools: validate a policy, simulate a request through policies."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from policies.api.serializers.strict import StrictFieldsMixin
from policies.models import dns_label

MAX_SIMULATED_OBJECTS = 200
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
MESH_MODES = ("REGISTRY_ONLY", "ALLOW_ANY")


class FindingSerializer(serializers.Serializer):
    """One validation finding: stable code, severity, JSON path, message, source line."""

    code = serializers.CharField()
    severity = serializers.ChoiceField(choices=["error", "warning", "info"])
    path = serializers.CharField(allow_blank=True)
    message = serializers.CharField()
    line = serializers.IntegerField(allow_null=True)


class ValidationResultSerializer(serializers.Serializer):
    """The answer of ``POST /validate/``: valid unless some finding is an error."""

    valid = serializers.BooleanField()
    findings = FindingSerializer(many=True)


class SourceSerializer(StrictFieldsMixin, serializers.Serializer):
    """The client workload: its namespace and pod labels."""

    namespace = serializers.CharField(max_length=63, validators=[dns_label])
    labels = serializers.DictField(
        child=serializers.CharField(max_length=63, allow_blank=True), required=False, default=dict
    )

    def validate_labels(self, labels: dict[str, str]) -> dict[str, str]:
        if len(labels) > 64 or any(not key or len(key) > 253 for key in labels):
            raise serializers.ValidationError(_("Use at most 64 labels with keys of 1-253 characters."), code="invalid")
        return labels


class PolicySimulationSerializer(StrictFieldsMixin, serializers.Serializer):
    """A request to simulate: who sends it, to which URL, with which method, in which mesh mode."""

    # NB: the API field shadows Field.source only in the stubs: DRF's metaclass moves declared fields off the class.
    source = SourceSerializer()  # type: ignore[assignment]
    url = serializers.CharField(max_length=2048, help_text="http:// or https:// URL, e.g. http://httpbin.org/anything")
    method = serializers.ChoiceField(choices=METHODS, default="GET")
    meshMode = serializers.ChoiceField(choices=MESH_MODES, default="REGISTRY_ONLY")  # noqa: N815 - API field name
    cluster = serializers.CharField(
        max_length=63,
        required=False,
        validators=[dns_label],
        help_text=(
            "A registered cluster: simulate in the outbound mode and with the Sidecars its last check read "
            "(instead of meshMode)."
        ),
    )

    def validate_url(self, url: str) -> str:
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError as exc:
            raise serializers.ValidationError(
                _("Not a valid URL: %(problem)s.") % {"problem": exc}, code="invalid"
            ) from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise serializers.ValidationError(_("Use an http:// or https:// URL with a host name."), code="invalid")
        return url


@extend_schema_field(
    {
        "type": "object",
        "additionalProperties": True,
        "description": "An ASMEgressTrafficPolicy or a plain Istio object (apiVersion, kind, ...).",
    }
)
class KubernetesObjectField(serializers.DictField):
    """Any Kubernetes object given as a mapping with ``kind``; the simulator reads it."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        value = super().to_internal_value(data)
        if not isinstance(value.get("kind"), str) or not isinstance(value.get("apiVersion"), str):
            raise serializers.ValidationError(_("Each object needs string apiVersion and kind."), code="invalid")
        return value


class SimulationSerializer(PolicySimulationSerializer):
    """``POST /simulate/``: the objects in effect plus the request to simulate."""

    policies = serializers.ListField(
        child=KubernetesObjectField(),
        max_length=MAX_SIMULATED_OBJECTS,
        default=list,
        help_text="ASMEgressTrafficPolicy custom resources and/or Istio objects.",
    )


@extend_schema_field(
    {
        "oneOf": [{"type": "integer"}, {"type": "string", "enum": ["reset"]}],
        "description": "HTTP status the client sees, or `reset` when it gets no response.",
    }
)
class StatusField(serializers.Field):
    """An HTTP status code or ``"reset"``."""

    def to_representation(self, value: Any) -> Any:
        return value


class SimulationResultSerializer(serializers.Serializer):
    """The simulator's answer, exactly as ``egress simulate --json`` prints it."""

    status = StatusField()
    upstream = serializers.CharField(allow_null=True, help_text="URL the external server receives, if any.")
    body = serializers.CharField(allow_null=True, help_text="Response body worth showing, if any.")
    hops = serializers.ListField(child=serializers.CharField(), help_text="Each proxy decision in order.")
    reason = serializers.CharField(help_text="One sentence explaining the status.")
