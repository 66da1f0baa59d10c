"""What the core needs to know about an egress gateway and the translation settings.

Validation of gateway ports (V17-V19) and the Istio expansion both depend on the gateway the
policy targets. Offline, the console describes it here; the default is the seed's gateway.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

GatewayProtocol = Literal["HTTP", "HTTP2", "HTTPS", "TLS", "TCP", "GRPC"]
HTTP_FAMILY = frozenset({"HTTP", "HTTP2", "GRPC"})
STREAM_FAMILY = frozenset({"HTTPS", "TLS", "TCP"})


class GatewayPort(BaseModel):
    """One port of the gateway Service."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Port name, e.g. `http-80`.")
    number: int = Field(ge=1, le=65535, description="Service port number.")
    protocol: GatewayProtocol = Field(description="Declared protocol of the port.")


class GatewayDescription(BaseModel):
    """An egress gateway as the console knows it (name, namespace, Service ports)."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(description="Gateway name; the Service is `{name}.{namespace}.svc.cluster.local`.")
    namespace: str = Field("istio-system", description="Where ASM gateways run.")
    ports: tuple[GatewayPort, ...] = Field(description="Service ports with their protocols.")
    mtls: bool = Field(True, description="Mesh mTLS between sidecars and the gateway.")

    def port(self, number: int) -> GatewayPort | None:
        """The Service port with this number, if declared."""
        return next((p for p in self.ports if p.number == number), None)

    @property
    def service_host(self) -> str:
        """Fully-qualified Service host of the gateway."""
        return f"{self.name}.{self.namespace}.svc.cluster.local"

    @property
    def pod_selector(self) -> dict[str, str]:
        """Labels that select the gateway pods (the seed's AuthorizationPolicy selector)."""
        return {"istio": self.name}


def seed_gateway(name: str = "egressgateway") -> GatewayDescription:
    """The seed's gateway: HTTP 80, HTTPS 443, HTTPS 444, mTLS on."""
    return GatewayDescription(
        name=name,
        ports=(
            GatewayPort(name="http-80", number=80, protocol="HTTP"),
            GatewayPort(name="https-443", number=443, protocol="HTTPS"),
            GatewayPort(name="https-444", number=444, protocol="HTTPS"),
        ),
    )


class TranslationSettings(BaseModel):
    """Console settings that choose between readings of ASM's undocumented behaviour (spec §4.1)."""

    model_config = ConfigDict(frozen=True)

    gateway_namespace: str = Field("istio-system", description="Gateway and mesh root namespace (GN).")
    gateway_service_host: str | None = Field(None, description="Gateway Service FQDN; derived when unset.")
    gateway_selector: dict[str, str] | None = Field(None, description="Gateway pod labels; `{istio: G}` when unset.")
    port_default: Literal["samePort", "asmAuto"] = Field(
        "samePort", description="Gateway port for `byEgressGateway: {}`: the target port, or ASM auto-allocation."
    )
    upgrade_style: Literal["targetPort", "gatewayPort"] = Field(
        "targetPort", description="How httpsUpgrade is expressed in Istio (spec §3(b))."
    )
    api_version: Literal["v1", "v1beta1"] = Field("v1", description="Istio API version; v1beta1 before Istio 1.22.")
    upgrade_ca_credential: str | None = Field(
        None,
        description=(
            "For httpsUpgrade: a Secret in the gateway namespace whose CA (`ca.crt`/`cacert`) the gateway "
            "verifies external servers against (DestinationRule `tls.credentialName`)."
        ),
    )
    upgrade_ca_certificates: str | None = Field(
        None,
        description=(
            "For httpsUpgrade: a CA bundle path inside the gateway pods "
            "(DestinationRule `tls.caCertificates`), e.g. /etc/ssl/certs/ca-certificates.crt."
        ),
    )

    @property
    def upgrade_verifies_server(self) -> bool:
        """The gateway checks the external server's certificate when it originates TLS."""
        return bool(self.upgrade_ca_credential or self.upgrade_ca_certificates)
