"""Egress gateways and their Service ports, written together as one object."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import serializers

from policies import services
from policies.api.errors import ConflictError
from policies.api.serializers.strict import StrictFieldsMixin
from policies.core.validation_syntax import is_port_name
from policies.models import EgressGateway, GatewayPortRecord, dns_label

MAX_PORTS = 64
PORT_FIELDS = ("name", "number", "protocol")


def port_name(value: str) -> None:
    """A Service port name is an IANA service name, as Kubernetes requires (issue 10, item 9)."""
    if not is_port_name(value):
        raise serializers.ValidationError(
            _(
                "Use at most 15 lower-case letters, digits and '-', with at least one letter, no '--' and no '-' "
                "at either end, e.g. 'http-80'."
            ),
            code="invalid_port_name",
        )


class GatewayPortSerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """One port of the gateway Service."""

    # NB: the validator checks the length too (at most 15), so a long name gets one error, not two.
    name = serializers.CharField(validators=[port_name], help_text="IANA service name (at most 15 characters).")

    class Meta:
        model = GatewayPortRecord
        fields = list(PORT_FIELDS)


class EgressGatewaySerializer(StrictFieldsMixin, serializers.ModelSerializer):
    """An egress gateway; ``ports`` is replaced whole on write. The name cannot change."""

    name = serializers.CharField(max_length=63, validators=[dns_label])
    # NB: many=True hands max_length on to the ListSerializer; the stubs do not know that keyword.
    ports = GatewayPortSerializer(many=True, max_length=MAX_PORTS)  # type: ignore[call-arg]
    policy: serializers.PrimaryKeyRelatedField[Any] = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True, help_text="Id of its policy, if any."
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815 - API field name

    class Meta:
        model = EgressGateway
        fields = ["name", "namespace", "mtls", "description", "ports", "policy", "createdAt"]

    def validate_name(self, value: str) -> str:
        if self.instance is not None and value != self.instance.name:
            raise serializers.ValidationError(_("A gateway cannot be renamed; create a new one."), code="immutable")
        return value

    def validate_ports(self, ports: list[dict[str, Any]]) -> list[dict[str, Any]]:
        # NB: a PATCH makes nested fields optional, but ports are always replaced whole.
        missing = [
            {field: [_("This field is required.")] for field in PORT_FIELDS if field not in port} for port in ports
        ]
        if any(missing):
            raise serializers.ValidationError(missing, code="required")
        for key in ("number", "name"):
            values = [port[key] for port in ports]
            duplicates = sorted({v for v in values if values.count(v) > 1}, key=str)
            if duplicates:
                raise serializers.ValidationError(
                    _("Port %(field)s values must be unique; repeated: %(values)s.")
                    % {"field": key, "values": ", ".join(map(str, duplicates))},
                    code="duplicate",
                )
        return ports

    def create(self, validated_data: dict[str, Any]) -> EgressGateway:
        ports = validated_data.pop("ports")
        try:
            with transaction.atomic():
                gateway = EgressGateway.objects.create(**validated_data)
                _replace_ports(gateway, ports)
        except IntegrityError as exc:
            raise ConflictError(
                _("A gateway named %(name)s already exists.") % {"name": validated_data["name"]}, path="name"
            ) from exc
        return gateway

    def update(self, instance: EgressGateway, validated_data: dict[str, Any]) -> EgressGateway:
        ports = validated_data.pop("ports", None)
        with transaction.atomic():
            for field, value in validated_data.items():
                setattr(instance, field, value)
            instance.save()
            if ports is not None:
                _replace_ports(instance, ports)
            _refuse_breaking_the_draft(instance, changed="ports" if ports is not None else "")
        return instance


def _refuse_breaking_the_draft(gateway: EgressGateway, changed: str) -> None:
    """409 (rolling the update back) when the gateway's policy draft would no longer validate against it."""
    policy = getattr(gateway, "policy", None)
    if policy is None:
        return
    checked = services.check_document(policy.draft.document, gateway)
    error = next((f for f in checked.findings if f.severity == "error"), None)
    if error is not None:
        raise ConflictError(
            _("Policy %(policy)s would no longer be valid (%(path)s: %(problem)s); change the policy first.")
            % {"policy": policy.name, "path": error.path, "problem": error.render(_)},
            code=error.code,
            path=changed,
        )


def _replace_ports(gateway: EgressGateway, ports: list[dict[str, Any]]) -> None:
    gateway.ports.all().delete()
    GatewayPortRecord.objects.bulk_create(GatewayPortRecord(gateway=gateway, **port) for port in ports)
    # NB: drop the prefetch cache so the response shows the ports just written.
    getattr(gateway, "_prefetched_objects_cache", {}).pop("ports", None)
