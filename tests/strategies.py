"""Hypothesis strategies for random *valid* ASMEgressTrafficPolicy documents.

Shared by the property tests of validation, the canonical dump, the Istio expansion and the
simulator. A generated policy obeys every offline rule of spec §6, so ``validate_policy``
returns no errors for it against the default seed gateway, and neither errors nor
gateway-port warnings against ``gateway_for(policy)``. The generator covers HTTP, HTTPS, TLS
and TCP targets (GRPC/HTTP2 occasionally: they carry a V13 warning), ``httpsUpgrade``,
workload selectors, several namespaces, host groups shared by several to-entries (a TCP entry
has one host, V10c), explicit and defaulted (``{}``) gateway ports, and both API versions. No
wildcard hosts: Istio refuses them in the DNS-resolved ServiceEntry (V10a).

Public API:

- ``valid_policy_data(max_rules=20)``: plain dicts, as a user would write them.
- ``valid_policies(max_rules=20)``: the same as ``EgressPolicy`` models.
- ``gateway_for(policy)``: a gateway description that declares every gateway port used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from policies.core.gateway import HTTP_FAMILY, GatewayDescription, GatewayPort, TranslationSettings
from policies.core.model import EgressPolicy, expected_policy_name
from policies.core.portplan import plan_gateway_ports

RESERVED = frozenset({15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090})
STREAM_PROTOCOLS = ("HTTPS", "TLS", "TCP")
PROTOCOLS = ("HTTP", "HTTP", "HTTPS", "TLS", "TCP", "GRPC", "HTTP2")
COMMON_PORTS = (80, 443, 8080, 8443, 3306, 5432, 6379, 9000, 9443)
FIRST_STREAM_GATEWAY_PORT = 443
HTTP_GATEWAY_PORTS = (80, 8080)

dns_labels = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
# NB: port names are IANA service names (V32): "https-" + at most 9 characters stays within 15, no "--".
port_name_suffixes = st.from_regex(r"[a-z][a-z0-9]{0,8}", fullmatch=True)
long_dns_labels = st.from_regex(r"[a-z][a-z0-9-]{20,61}[a-z0-9]", fullmatch=True)
label_keys = st.from_regex(
    r"([a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?\.[a-z]{2,5}/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?", fullmatch=True
)
label_values = st.from_regex(r"([A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?)?", fullmatch=True)
namespaces = st.one_of(st.sampled_from(("mytest", "default", "team-a", "payments")), dns_labels)


@dataclass
class _Budget:
    """Cross-entry bookkeeping that keeps the generated policy valid (V9, V11, V19)."""

    groups: list[list[str]] = field(default_factory=list)
    group_ports: set[tuple[int, int]] = field(default_factory=set)
    group_port_names: set[tuple[int, str]] = field(default_factory=set)
    gateway_ports: dict[int, str] = field(default_factory=dict)
    tcp_ports: dict[int, int] = field(default_factory=dict)
    names: int = 0

    def free_port(self, group: int, wanted: int, protocol: str) -> int:
        """``wanted`` or the next port not yet used in the host group (V11) nor reserved (V12);
        a TCP port is not another group's TCP port too (V11a)."""
        port = wanted
        while (
            (group, port) in self.group_ports
            or port in RESERVED
            or (protocol == "TCP" and self.tcp_ports.get(port, group) != group)
        ):
            port = port % 65535 + 1
        self.group_ports.add((group, port))
        if protocol == "TCP":
            self.tcp_ports[port] = group
        return port

    def port_name(self, group: int, protocol: str, suffix: str | None, number: int) -> str:
        """``<protocol>[-suffix]``, made unique in the host group's ServiceEntry (V11) by the port number."""
        name = protocol.lower() + (f"-{suffix}" if suffix else "")
        if (group, name) in self.group_port_names:
            name = f"{protocol.lower()}-{number}"  # NB: unique: numbers are, and suffixes start with a letter.
        self.group_port_names.add((group, name))
        return name

    def can_use_gateway_port(self, port: int, family: str) -> bool:
        """V19: stream entries need an unused gateway port; HTTP-family entries may share HTTP ones."""
        return port not in self.gateway_ports or (family == "http" and self.gateway_ports[port] == "http")

    def fresh_gateway_port(self, family: str) -> int:
        """A gateway port for ``family`` (V19): shared HTTP ports first, else the next unused one."""
        for port in HTTP_GATEWAY_PORTS if family == "http" else ():
            if self.can_use_gateway_port(port, family):
                return port
        port = FIRST_STREAM_GATEWAY_PORT
        while port in self.gateway_ports or port in RESERVED:
            port += 1
        return port


@st.composite
def _host_group(draw: st.DrawFn, index: int, count: int) -> list[str]:
    """Disjoint from every other group: each host embeds its group index."""
    domain = draw(dns_labels)
    return [
        f"{draw(dns_labels)}-g{index}h{h}.{domain}.{draw(st.sampled_from(('com', 'org', 'io')))}" for h in range(count)
    ]


@st.composite
def _pick_group(draw: st.DrawFn, budget: _Budget, protocol: str) -> int:
    """An existing host group or a new one; TCP entries only use single-host groups (V10c)."""
    usable = [g for g in range(len(budget.groups)) if protocol != "TCP" or len(budget.groups[g]) == 1]
    if usable and draw(st.booleans()):
        return draw(st.sampled_from(usable))
    index = len(budget.groups)
    budget.groups.append(draw(_host_group(index, 1 if protocol == "TCP" else draw(st.integers(1, 3)))))
    return index


@st.composite
def _gateway_ref(draw: st.DrawFn, budget: _Budget, number: int, family: str, gateway: str) -> dict[str, Any]:
    """``{port: n}`` mostly; ``{}`` (port default = own port) when that port is free for the family."""
    if draw(st.integers(0, 3)) == 0 and budget.can_use_gateway_port(number, family):
        port, ref = number, {}
    else:
        port = budget.fresh_gateway_port(family)
        ref = {"port": port}
    budget.gateway_ports.setdefault(port, family)
    if draw(st.integers(0, 5)) == 0:
        ref = {"name": gateway, **ref}
    return ref


@st.composite
def _upgrade(draw: st.DrawFn, number: int) -> dict[str, Any] | None:
    choice = draw(st.integers(0, 3))
    if choice == 0:
        port = 443 if number != 443 else 8443
        return {"enabled": True, "port": port}
    if choice == 1:
        return {"enabled": False}
    return None


@st.composite
def _target(draw: st.DrawFn, budget: _Budget, gateway: str) -> dict[str, Any]:
    protocol = draw(st.sampled_from(PROTOCOLS))
    family = "http" if protocol in HTTP_FAMILY else "stream"
    group = draw(_pick_group(budget, protocol))
    number = budget.free_port(group, draw(st.sampled_from(COMMON_PORTS) | st.integers(1, 65535)), protocol)
    suffix = draw(st.none() | port_name_suffixes)
    budget.names += 1
    entry: dict[str, Any] = {
        "name": f"{draw(dns_labels)}-{budget.names}",
        "hosts": list(budget.groups[group]),
        "port": {"name": budget.port_name(group, protocol, suffix, number), "number": number, "protocol": protocol},
        "byEgressGateway": draw(_gateway_ref(budget, number, family, gateway)),
    }
    upgrade = draw(_upgrade(number)) if family == "http" else None
    if upgrade is not None:
        entry["httpsUpgrade"] = upgrade
    return entry


@st.composite
def _source(draw: st.DrawFn) -> dict[str, Any]:
    source: dict[str, Any] = {"namespace": draw(namespaces)}
    selector = draw(st.dictionaries(label_keys, label_values, max_size=2))
    if selector or draw(st.booleans()):
        source["workloadSelector"] = selector
    return source


@st.composite
def _rule(draw: st.DrawFn, budget: _Budget, gateway: str) -> dict[str, Any]:
    rule: dict[str, Any] = {}
    if draw(st.integers(0, 4)) == 0:
        rule["name"] = draw(dns_labels)
    rule["from"] = draw(st.lists(_source(), min_size=1, max_size=3))
    rule["to"] = [draw(_target(budget, gateway)) for _ in range(draw(st.integers(1, 4)))]
    return rule


@st.composite
def valid_policy_data(draw: st.DrawFn, max_rules: int = 20) -> dict[str, Any]:
    """A random valid policy as plain data (keys in canonical order, no nulls, no status)."""
    gateway = draw(st.one_of(st.sampled_from(("egressgateway", "egressgateway-a")), dns_labels, long_dns_labels))
    budget = _Budget()
    metadata: dict[str, Any] = {"name": expected_policy_name(gateway), "namespace": "istio-egress"}
    if draw(st.integers(0, 4)) == 0:
        metadata["labels"] = draw(st.dictionaries(label_keys, label_values, min_size=1, max_size=2))
    return {
        "apiVersion": draw(st.sampled_from(("istio.alibabacloud.com/v1", "istio.alibabacloud.com/v1beta1"))),
        "kind": "ASMEgressTrafficPolicy",
        "metadata": metadata,
        "spec": {
            "byEgressGateway": {"name": gateway},
            "egressRules": [draw(_rule(budget, gateway)) for _ in range(draw(st.integers(1, max_rules)))],
        },
    }


def valid_policies(max_rules: int = 20) -> st.SearchStrategy[EgressPolicy]:
    """Random valid policies as ``EgressPolicy`` models."""
    return valid_policy_data(max_rules).map(EgressPolicy.model_validate)


def gateway_for(policy: EgressPolicy, settings: TranslationSettings | None = None) -> GatewayDescription:
    """A gateway that declares every gateway port ``policy`` uses, with a fitting protocol (V17, V18)."""
    plan = plan_gateway_ports(policy, settings or TranslationSettings())
    ports: dict[int, GatewayPort] = {}
    for rule_index, index, _rule, to in policy.iter_targets():
        number = plan[(rule_index, index)].number
        protocol = "HTTP" if to.port and to.port.protocol in HTTP_FAMILY else "HTTPS"
        if number is not None:
            ports.setdefault(number, GatewayPort(name=f"{protocol.lower()}-{number}", number=number, protocol=protocol))
    return GatewayDescription(
        name=policy.gateway_name or "egressgateway", ports=tuple(sorted(ports.values(), key=lambda p: p.number))
    )
