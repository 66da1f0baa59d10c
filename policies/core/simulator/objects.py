"""ServiceEntry, DestinationRule and Gateway objects read into the records the indexes use.

Only what decides a request's fate is kept: hosts, ports and protocols, resolution, exportTo,
TLS settings per subset and port, gateway servers. Load-balancing and connection-pool settings
do not change where a request ends, so they are accepted and ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.core.simulator.fields import (
    Visibility,
    as_int,
    as_list,
    as_map,
    as_str,
    as_str_list,
    as_str_map,
    fqdn,
    not_modelled,
)

HTTP_PROTOCOLS = frozenset({"HTTP", "HTTP2", "HTTP_PROXY", "GRPC", "GRPC-WEB"})
TLS_PROTOCOLS = frozenset({"HTTPS", "TLS"})
TLS_MODES = frozenset({"DISABLE", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL"})
SERVER_TLS_MODES = frozenset({"PASSTHROUGH", "SIMPLE", "MUTUAL", "ISTIO_MUTUAL", "AUTO_PASSTHROUGH", "OPTIONAL_MUTUAL"})
RESOLUTIONS = frozenset({"NONE", "STATIC", "DNS", "DNS_ROUND_ROBIN"})


def protocol_family(protocol: str, port_name: str) -> str:
    """``http``, ``tls`` or ``tcp``; an unset protocol comes from the port-name prefix as in Istio."""
    declared = (protocol or port_name.split("-", 1)[0]).upper()
    if declared in HTTP_PROTOCOLS:
        return "http"
    return "tls" if declared in TLS_PROTOCOLS else "tcp"


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One ServiceEntry port: what sidecars listen on and where endpoints are reached."""

    number: int
    name: str
    protocol: str
    family: str
    target_port: int | None


@dataclass(slots=True)
class ServiceEntryRecord:
    """A ServiceEntry: external hosts registered in the mesh."""

    ref: str
    namespace: str
    hosts: tuple[str, ...]
    ports: dict[int, ServicePort]
    resolution: str
    addresses: tuple[str, ...]
    endpoint_address: str | None
    endpoint_ports: dict[str, int]
    visibility: Visibility
    order: int
    created: str = ""  # metadata.creationTimestamp (RFC 3339 sorts as text); "" when not given

    @property
    def istio_order(self) -> tuple[str, str, str]:
        """Pilot's service order (``SortServicesByCreationTime``): creation time, host name, namespace."""
        return (self.created, self.hosts[0], self.namespace)

    def endpoint(self, host: str, port: ServicePort) -> tuple[str, int]:
        """Address and port the proxy connects to for ``host`` on ``port`` (resolution DNS: the host)."""
        address = self.endpoint_address or host
        number = self.endpoint_ports.get(port.name) or port.target_port or port.number
        return address, number


@dataclass(frozen=True, slots=True)
class TlsSettings:
    """Client-side TLS of a cluster (DestinationRule ``tls``)."""

    mode: str
    sni: str | None


@dataclass(slots=True)
class TrafficPolicy:
    """The TLS part of a trafficPolicy: a default and per-port overrides."""

    tls: TlsSettings | None = None
    port_tls: dict[int, TlsSettings] = field(default_factory=dict)

    def for_port(self, port: int) -> TlsSettings | None:
        """Port-level TLS first, then the policy-wide TLS."""
        return self.port_tls.get(port) or self.tls


@dataclass(slots=True)
class DestinationRuleRecord:
    """A DestinationRule: subsets and how proxies speak TLS to a host."""

    ref: str
    namespace: str
    host: str
    visibility: Visibility
    policy: TrafficPolicy
    subsets: dict[str, TrafficPolicy]
    order: int
    selector: dict[str, str] | None = None  # workloadSelector.matchLabels: only those proxies, in its namespace

    def applies_to(self, namespace: str, labels: dict[str, str]) -> bool:
        """A rule without selector applies wherever it is visible; one with a selector only to its
        own namespace's workloads that carry all the labels."""
        if self.selector is None:
            return True
        return namespace == self.namespace and all(labels.get(k) == v for k, v in self.selector.items())

    def tls_for(self, subset: str | None, port: int) -> TlsSettings | None:
        """TLS for a cluster: the subset's settings override the rule-wide ones."""
        own = self.subsets[subset].for_port(port) if subset else None
        return own or self.policy.for_port(port)


@dataclass(frozen=True, slots=True)
class ServerRecord:
    """One Gateway server: a port, the SNI hosts it accepts and how it terminates TLS."""

    gateway: str
    number: int
    name: str
    protocol: str
    hosts: tuple[str, ...]
    tls_mode: str | None
    order: int

    @property
    def terminates_http(self) -> bool:
        """HTTP/HTTPS servers run the HTTP connection manager; TLS/TCP servers forward bytes."""
        return self.protocol in HTTP_PROTOCOLS or (self.protocol == "HTTPS" and self.tls_mode != "PASSTHROUGH")


@dataclass(slots=True)
class GatewayRecord:
    """A Gateway: which pods it configures and their servers."""

    ref: str
    selector: dict[str, str]
    servers: list[ServerRecord]


def read_service_entry(
    ref: str, namespace: str, spec: dict[str, Any], order: int, created: str = ""
) -> ServiceEntryRecord:
    """A ServiceEntry spec as a record."""
    if spec.get("workloadSelector") is not None:
        not_modelled(ref, "spec.workloadSelector", "in-mesh workload endpoints")
    hosts = as_str_list(spec.get("hosts"), ref, "spec.hosts")
    if not hosts:
        not_modelled(ref, "spec.hosts", "an empty host list")
    ports = [
        _service_port(as_map(p, ref, f"spec.ports[{i}]"), ref, i)
        for i, p in enumerate(as_list(spec.get("ports"), ref, "spec.ports"))
    ]
    resolution = as_str(spec.get("resolution"), ref, "spec.resolution", "NONE")
    if resolution not in RESOLUTIONS:
        not_modelled(ref, "spec.resolution", f"resolution '{resolution}'")
    endpoints = as_list(spec.get("endpoints"), ref, "spec.endpoints")
    first = as_map(endpoints[0], ref, "spec.endpoints[0]") if endpoints else {}
    return ServiceEntryRecord(
        ref=ref,
        namespace=namespace,
        hosts=tuple(h.lower() for h in hosts),
        ports={p.number: p for p in reversed(ports)},
        resolution=resolution,
        addresses=as_str_list(spec.get("addresses"), ref, "spec.addresses"),
        endpoint_address=as_str(first.get("address"), ref, "spec.endpoints[0].address") or None,
        endpoint_ports={k: int(v) for k, v in as_map(first.get("ports"), ref, "spec.endpoints[0].ports").items()},
        visibility=Visibility(as_str_list(spec.get("exportTo"), ref, "spec.exportTo"), namespace),
        created=created,
        order=order,
    )


def _service_port(data: dict[str, Any], ref: str, index: int) -> ServicePort:
    path = f"spec.ports[{index}]"
    number = as_int(data.get("number"), ref, f"{path}.number")
    if number is None:
        not_modelled(ref, f"{path}.number", "a port without a number")
    name = as_str(data.get("name"), ref, f"{path}.name")
    protocol = as_str(data.get("protocol"), ref, f"{path}.protocol").upper()
    target = as_int(data.get("targetPort"), ref, f"{path}.targetPort")
    return ServicePort(number, name, protocol, protocol_family(protocol, name), target)


def read_destination_rule(ref: str, namespace: str, spec: dict[str, Any], order: int) -> DestinationRuleRecord:
    """A DestinationRule spec as a record (only its TLS settings matter here)."""
    selector = spec.get("workloadSelector")
    match_labels = as_str_map(
        as_map(selector, ref, "spec.workloadSelector").get("matchLabels"), ref, "spec.workloadSelector"
    )
    subsets: dict[str, TrafficPolicy] = {}
    for i, item in enumerate(as_list(spec.get("subsets"), ref, "spec.subsets")):
        subset = as_map(item, ref, f"spec.subsets[{i}]")
        name = as_str(subset.get("name"), ref, f"spec.subsets[{i}].name")
        subsets.setdefault(name, _traffic_policy(subset.get("trafficPolicy"), ref, f"spec.subsets[{i}].trafficPolicy"))
    return DestinationRuleRecord(
        ref=ref,
        namespace=namespace,
        host=fqdn(as_str(spec.get("host"), ref, "spec.host").lower(), namespace),
        visibility=Visibility(as_str_list(spec.get("exportTo"), ref, "spec.exportTo"), namespace),
        policy=_traffic_policy(spec.get("trafficPolicy"), ref, "spec.trafficPolicy"),
        subsets=subsets,
        order=order,
        selector=dict(match_labels) if selector is not None else None,
    )


def _traffic_policy(value: Any, ref: str, path: str) -> TrafficPolicy:
    data = as_map(value, ref, path)
    policy = TrafficPolicy(tls=_tls(data.get("tls"), ref, f"{path}.tls"))
    for i, item in enumerate(as_list(data.get("portLevelSettings"), ref, f"{path}.portLevelSettings")):
        setting = as_map(item, ref, f"{path}.portLevelSettings[{i}]")
        port = as_int(as_map(setting.get("port"), ref, f"{path}.portLevelSettings[{i}].port").get("number"), ref, path)
        tls = _tls(setting.get("tls"), ref, f"{path}.portLevelSettings[{i}].tls")
        if port is not None and tls is not None:
            policy.port_tls.setdefault(port, tls)
    return policy


def _tls(value: Any, ref: str, path: str) -> TlsSettings | None:
    if value is None:
        return None
    data = as_map(value, ref, path)
    mode = as_str(data.get("mode"), ref, f"{path}.mode", "DISABLE").upper()
    if mode not in TLS_MODES:
        not_modelled(ref, f"{path}.mode", f"TLS mode '{mode}'")
    return TlsSettings(mode, as_str(data.get("sni"), ref, f"{path}.sni") or None)


def read_gateway(ref: str, namespace: str, spec: dict[str, Any], order: int) -> GatewayRecord:
    """A Gateway spec as a record; server hosts lose their ``namespace/`` prefix."""
    servers = []
    for i, item in enumerate(as_list(spec.get("servers"), ref, "spec.servers")):
        server = as_map(item, ref, f"spec.servers[{i}]")
        port = as_map(server.get("port"), ref, f"spec.servers[{i}].port")
        number = as_int(port.get("number"), ref, f"spec.servers[{i}].port.number")
        tls = as_map(server.get("tls"), ref, f"spec.servers[{i}].tls")
        mode = as_str(tls.get("mode"), ref, f"spec.servers[{i}].tls.mode").upper() or None
        if mode is not None and mode not in SERVER_TLS_MODES:
            not_modelled(ref, f"spec.servers[{i}].tls.mode", f"server TLS mode '{mode}'")
        hosts = tuple(
            h.rsplit("/", 1)[-1].lower() for h in as_str_list(server.get("hosts"), ref, f"spec.servers[{i}].hosts")
        )
        name = as_str(port.get("name"), ref, f"spec.servers[{i}].port.name")
        protocol = as_str(port.get("protocol"), ref, f"spec.servers[{i}].port.protocol").upper()
        servers.append(ServerRecord(ref, number or 0, name, protocol, hosts, mode, order * 1000 + i))
    return GatewayRecord(
        ref, as_str_map(as_map(spec.get("selector"), ref, "spec.selector"), ref, "spec.selector"), servers
    )
