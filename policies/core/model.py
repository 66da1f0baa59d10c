"""Pydantic model of the ASMEgressTrafficPolicy custom resource.

The model is deliberately *structural*: it checks types and shapes (a port number is an
integer, ``hosts`` is a list of strings, no unknown fields) and nothing more. Whether a value
is *acceptable* (a DNS label, a non-reserved port, a unique name, ...) is decided by
``policies.core.validation``, so that every semantic problem is reported at once, with its own
stable code, instead of pydantic stopping at the first missing field. That is why most fields
are optional here even where the CRD needs them.

Field order is the canonical key order of the seed document; ``dump_policy`` relies on it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator

GROUP = "istio.alibabacloud.com"
KIND = "ASMEgressTrafficPolicy"
API_VERSIONS = (f"{GROUP}/v1", f"{GROUP}/v1beta1")
DEFAULT_POLICY_NAMESPACE = "istio-egress"
POLICY_NAME_PREFIX = "egress-by-"

ApiVersion = Literal["istio.alibabacloud.com/v1", "istio.alibabacloud.com/v1beta1"]
PortNumber = Annotated[StrictInt, Field(description="A TCP port number (1-65535 when valid).")]


class _Strict(BaseModel):
    """Base for every CR part: unknown fields are errors, values are never coerced."""

    model_config = ConfigDict(extra="forbid", strict=True, validate_assignment=False)


class Port(_Strict):
    """The port the application targets on the external host (an Istio ``Port``)."""

    name: StrictStr | None = Field(None, description="Istio port name, e.g. `http`, `https-api`, `tcp`.")
    number: PortNumber | None = Field(None, description="Port number on the external host, 1-65535.")
    protocol: StrictStr | None = Field(
        None, description="HTTP, HTTPS, TLS or TCP (GRPC and HTTP2 with a warning); upper-cased on load."
    )
    targetPort: PortNumber | None = Field(  # noqa: N815 - CRD field name
        None, description="Reserved: set by the translator for httpsUpgrade; users must not set it."
    )

    @field_validator("protocol")
    @classmethod
    def _upper_case_protocol(cls, value: str | None) -> str | None:
        return value.upper() if value is not None else None


class GatewayRef(_Strict):
    """Reference to the egress gateway (top level) or the gateway port to use (per target)."""

    name: StrictStr | None = Field(None, description="Egress gateway name (IstioGateway of type egress).")
    port: PortNumber | None = Field(None, description="Gateway Service port the sidecar sends this traffic to.")


class HttpsUpgrade(_Strict):
    """Gateway-originated TLS: plain HTTP from the app leaves the gateway as HTTPS."""

    enabled: StrictBool | None = Field(None, description="Turns the upgrade on; unset means false.")
    port: PortNumber | None = Field(None, description="External TLS port, usually 443.")


class From(_Strict):
    """A source allowed to use a rule's targets: a namespace, optionally narrowed by labels."""

    namespace: StrictStr | None = Field(None, description="Kubernetes namespace of the client workloads.")
    workloadSelector: dict[StrictStr, StrictStr] | None = Field(  # noqa: N815 - CRD field name
        None, description="Labels a workload must all carry (AND); empty or absent means the whole namespace."
    )


class To(_Strict):
    """An external destination: hosts that resolve alike, one port, the gateway port to go through."""

    name: StrictStr | None = Field(None, description="Unique DNS-1123 label naming this target.")
    hosts: list[StrictStr] | None = Field(None, description="1-50 lower-case FQDNs; hosts[0] is the upstream.")
    port: Port | None = Field(None, description="Port the application targets on the external host.")
    byEgressGateway: GatewayRef | None = Field(  # noqa: N815 - CRD field name
        None, description="Gateway port to use; `{}` means the port default setting."
    )
    httpsUpgrade: HttpsUpgrade | None = Field(  # noqa: N815 - CRD field name
        None, description="Originate TLS at the gateway (HTTP targets only)."
    )


class EgressRule(_Strict):
    """Which sources (`from`) may reach which destinations (`to`)."""

    name: StrictStr | None = Field(None, description="Optional DNS-1123 label naming the rule.")
    from_: list[From] | None = Field(None, alias="from", description="Allowed sources, at least one.")
    to: list[To] | None = Field(None, description="External destinations, at least one.")

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=True, serialize_by_alias=True)


class PolicySpec(_Strict):
    """The desired state: one egress gateway and the rules that use it."""

    byEgressGateway: GatewayRef | None = Field(  # noqa: N815 - CRD field name
        None, description="The egress gateway this policy configures."
    )
    egressRules: list[EgressRule] | None = Field(  # noqa: N815 - CRD field name
        None, description="At least one rule."
    )


class ObjectMeta(BaseModel):
    """The part of Kubernetes object metadata a policy author controls.

    Server-managed fields (uid, resourceVersion, managedFields, ...) are accepted so that
    `kubectl get -o yaml` output can be imported, but they are dropped: they are not part of the
    policy and are never written back.
    """

    model_config = ConfigDict(extra="ignore", strict=True)

    name: StrictStr | None = Field(None, description="`egress-by-{gateway name}`.")
    namespace: StrictStr | None = Field(None, description=f"Always `{DEFAULT_POLICY_NAMESPACE}`.")
    labels: dict[StrictStr, StrictStr] | None = Field(None, description="Kubernetes labels.")
    annotations: dict[StrictStr, StrictStr] | None = Field(None, description="Kubernetes annotations.")


class PolicyStatus(BaseModel):
    """Read-only status written by ASM's controller; stripped before apply (V27)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    status: StrictStr | None = Field(None, description="Controller state.")
    message: StrictStr | None = Field(None, description="Controller error text.")
    autoAllocatedGatewayPorts: dict[StrictStr, StrictInt] | None = Field(  # noqa: N815 - CRD field name
        None, description="Gateway ports ASM allocated, keyed `{hosts[0]}-{port}`."
    )


class EgressPolicy(_Strict):
    """An ASMEgressTrafficPolicy object (`istio.alibabacloud.com/v1` or `v1beta1`)."""

    apiVersion: StrictStr | None = Field(None, description="`istio.alibabacloud.com/v1` or `/v1beta1`.")  # noqa: N815
    kind: StrictStr | None = Field(None, description=f"Always `{KIND}`.")
    metadata: ObjectMeta | None = Field(None, description="Name and namespace.")
    spec: PolicySpec | None = Field(None, description="The desired egress configuration.")
    status: PolicyStatus | None = Field(None, description="Read-only controller status.")

    @property
    def gateway_name(self) -> str | None:
        """The referenced egress gateway name, if any."""
        ref = self.spec.byEgressGateway if self.spec else None
        return ref.name if ref else None

    def iter_targets(self) -> list[tuple[int, int, EgressRule, To]]:
        """Every to-entry with its rule index and position, in document order."""
        rules = (self.spec.egressRules if self.spec else None) or []
        return [(r, t, rule, to) for r, rule in enumerate(rules) for t, to in enumerate(rule.to or [])]


def expected_policy_name(gateway_name: str) -> str:
    """The policy name ASM expects for a gateway: one policy per gateway (V3)."""
    return f"{POLICY_NAME_PREFIX}{gateway_name}"
