"""The resolved view of a policy that the object builders read: symbols, targets, host groups.

Spec §4.1 names the symbols (P, PN, G, GN, GSVC, GSEL, k, H, gwPort, NS) and §4.3 the host
groups. Resolving them once, in one pass in document order, keeps every builder a plain
function of this plan and the whole expansion linear in the number of to-entries. Missing or
contradictory input stops here with an ``ExpansionError``; the builders never see it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from policies.core.expansion.errors import (
    DUPLICATE_PORT_IN_GROUP,
    DUPLICATE_TARGET_NAME,
    MISSING_FIELD,
    NO_GATEWAY_PORT,
    OVERLAPPING_HOSTS,
    SHARED_GATEWAY_PORT_IN_GROUP,
    UNSUPPORTED_PROTOCOL,
    UPGRADE_NOT_HTTP,
    ExpansionError,
)
from policies.core.expansion.labels import managed_labels
from policies.core.gateway import HTTP_FAMILY, STREAM_FAMILY, GatewayDescription, TranslationSettings
from policies.core.i18n import _
from policies.core.model import EgressPolicy, EgressRule, To
from policies.core.names import derived_names, truncate_name
from policies.core.portplan import PlannedPort, plan_gateway_ports

_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Source:
    """One ``from`` item: a namespace, narrowed by labels when ``labels`` is non-empty."""

    namespace: str
    labels: dict[str, str]


@dataclass(slots=True)
class Target:
    """One to-entry with everything the builders need (spec §4.1 symbols for that entry)."""

    name: str
    hosts: list[str]
    number: int
    port_name: str
    protocol: str
    gateway_port: int
    upgrade_port: int | None
    sources: list[Source]
    namespaces: list[str]
    catch_all: bool = False
    tagged: bool = False

    @property
    def is_http(self) -> bool:
        """HTTP-family entries are routed as HTTP; the others as TLS (SNI) or TCP."""
        return self.protocol in HTTP_FAMILY


@dataclass(slots=True)
class HostGroup:
    """To-entries with the same hosts: one ServiceEntry and one pair of VirtualServices (§4.3)."""

    name: str
    hosts: list[str]
    targets: list[Target] = field(default_factory=list)
    namespaces: list[str] = field(default_factory=list)
    has_selector: bool = False
    object_names: dict[str, str] = field(default_factory=dict)  # NB: role → name, from names.derived_names
    port_owners: dict[int, Target] = field(default_factory=dict)
    gateway_port_owners: dict[int, Target] = field(default_factory=dict)


@dataclass(slots=True)
class ExpansionPlan:
    """The policy resolved against the gateway and settings; input of every object builder."""

    policy_name: str
    policy_namespace: str
    gateway_name: str
    gateway_namespace: str
    service_host: str
    selector: dict[str, str]
    settings: TranslationSettings
    labels: dict[str, str]
    groups: list[HostGroup]
    namespaces: list[str]

    @property
    def object_name(self) -> str:
        """Name of the objects named after the policy alone (Gateway, gateway-subset DR): P, cut to 63."""
        return truncate_name(self.policy_name)

    @property
    def gateway_ref(self) -> str:
        """How gateway-bound VirtualServices name the Gateway object: ``{PN}/{P}``."""
        return f"{self.policy_namespace}/{self.object_name}"

    @property
    def networking_api(self) -> str:
        """``networking.istio.io/v1`` or ``/v1beta1``."""
        return f"networking.istio.io/{self.settings.api_version}"

    @property
    def security_api(self) -> str:
        """``security.istio.io/v1`` or ``/v1beta1``."""
        return f"security.istio.io/{self.settings.api_version}"


def plan_policy(
    policy: EgressPolicy, gateway: GatewayDescription | None, settings: TranslationSettings
) -> ExpansionPlan:
    """Resolve ``policy`` into an ``ExpansionPlan``; raise ``ExpansionError`` on unusable input."""
    name = _required(policy.metadata.name if policy.metadata else None, "metadata.name")
    namespace = _required(policy.metadata.namespace if policy.metadata else None, "metadata.namespace")
    gateway_name = _required(policy.gateway_name, "spec.byEgressGateway.name")
    if gateway is not None:
        # NB: the console's description names the real gateway; it wins over a slip in the policy
        # (the seed's egressgateway vs egressgateway-a, spec §2), as the gateway-port checks do.
        gateway_name = gateway.name
    gn = settings.gateway_namespace
    groups = _host_groups(policy, name, settings)
    return ExpansionPlan(
        policy_name=name,
        policy_namespace=namespace,
        gateway_name=gateway_name,
        gateway_namespace=gn,
        service_host=settings.gateway_service_host or f"{gateway_name}.{gn}.svc.cluster.local",
        selector=dict(settings.gateway_selector or {"istio": gateway_name}),
        settings=settings,
        labels=managed_labels(name, namespace),
        groups=groups,
        namespaces=_union(ns for group in groups for ns in group.namespaces),
    )


def _host_groups(policy: EgressPolicy, policy_name: str, settings: TranslationSettings) -> list[HostGroup]:
    rules = _required(policy.spec.egressRules if policy.spec else None, "spec.egressRules")
    ports = plan_gateway_ports(policy, settings)
    grouper = _HostGrouper(policy_name)
    for rule_index, index, rule, to in policy.iter_targets():
        path = f"spec.egressRules[{rule_index}].to[{index}]"
        sources = _sources(rule, f"spec.egressRules[{rule_index}]")
        grouper.add(_target(to, path, sources, ports[(rule_index, index)]), path)
    if not grouper.groups:
        raise ExpansionError(MISSING_FIELD, "spec.egressRules", _("The policy has no to-entry to expand."))
    _check_rules_have_targets(rules)
    for group in grouper.groups:
        _mark_catch_alls(group)
    return grouper.groups


def _check_rules_have_targets(rules: list[EgressRule]) -> None:
    for rule_index, rule in enumerate(rules):
        _required(rule.to, f"spec.egressRules[{rule_index}].to")


def _sources(rule: EgressRule, rule_path: str) -> list[Source]:
    """Distinct ``from`` items of a rule; an empty list would mean "exported everywhere"."""
    items = _required(rule.from_, f"{rule_path}.from")
    seen: dict[tuple[str, tuple[tuple[str, str], ...]], Source] = {}
    for index, item in enumerate(items):
        namespace = _required(item.namespace, f"{rule_path}.from[{index}].namespace")
        labels = dict(item.workloadSelector or {})
        seen.setdefault((namespace, tuple(sorted(labels.items()))), Source(namespace, labels))
    return list(seen.values())


def _target(to: To, path: str, sources: list[Source], planned: PlannedPort) -> Target:
    port = _required(to.port, f"{path}.port")
    protocol = _required(port.protocol, f"{path}.port.protocol")
    if protocol not in HTTP_FAMILY and protocol not in STREAM_FAMILY:
        raise ExpansionError(
            UNSUPPORTED_PROTOCOL,
            f"{path}.port.protocol",
            _("Protocol {protocol} cannot be routed through the egress gateway."),
            protocol=protocol,
        )
    if planned.number is None:
        raise ExpansionError(
            NO_GATEWAY_PORT, f"{path}.byEgressGateway.port", _("No gateway port could be chosen for this entry.")
        )
    return Target(
        name=_required(to.name, f"{path}.name"),
        hosts=list(_required(to.hosts, f"{path}.hosts")),
        number=_required(port.number, f"{path}.port.number"),
        port_name=_required(port.name, f"{path}.port.name"),
        protocol=protocol,
        gateway_port=planned.number,
        upgrade_port=_upgrade_port(to, path, protocol),
        sources=sources,
        namespaces=_union(source.namespace for source in sources),
    )


def _upgrade_port(to: To, path: str, protocol: str) -> int | None:
    upgrade = to.httpsUpgrade
    if upgrade is None or not upgrade.enabled:
        return None
    if protocol not in HTTP_FAMILY:
        raise ExpansionError(
            UPGRADE_NOT_HTTP,
            f"{path}.httpsUpgrade",
            _("httpsUpgrade needs an HTTP entry; this one is {protocol}."),
            protocol=protocol,
        )
    return _required(upgrade.port, f"{path}.httpsUpgrade.port")


class _HostGrouper:
    """Groups entries by sorted host list in one pass; a host in two different lists is an error."""

    def __init__(self, policy_name: str) -> None:
        self.groups: list[HostGroup] = []
        self._policy_name = policy_name
        self._by_key: dict[tuple[str, ...], HostGroup] = {}
        self._owner: dict[str, tuple[str, ...]] = {}
        self._names: set[str] = set()

    def add(self, target: Target, path: str) -> None:
        if target.name in self._names:
            raise ExpansionError(
                DUPLICATE_TARGET_NAME,
                f"{path}.name",
                _("Entry name {name} is used twice; it names subsets and must be unique."),
                name=target.name,
            )
        self._names.add(target.name)
        key = tuple(sorted(target.hosts))
        group = self._by_key.get(key) or self._new_group(key, target, path)
        # NB: the whole group shares the first entry's host order, hence one H0 (§4.2 "route to H0").
        target.hosts = group.hosts
        _check_group_ports(group, target, path)
        group.targets.append(target)
        group.namespaces = _union([*group.namespaces, *target.namespaces])
        group.has_selector = group.has_selector or any(source.labels for source in target.sources)

    def _new_group(self, key: tuple[str, ...], target: Target, path: str) -> HostGroup:
        for host in key:
            other = self._owner.setdefault(host, key)
            if other != key:
                raise ExpansionError(
                    OVERLAPPING_HOSTS,
                    f"{path}.hosts",
                    _("Host {host} is also listed with other hosts; host lists must be identical or disjoint."),
                    host=host,
                )
        names = derived_names(self._policy_name, target.name)
        group = HostGroup(name=target.name, hosts=list(target.hosts), object_names=names)
        self._by_key[key] = group
        self.groups.append(group)
        return group


def _check_group_ports(group: HostGroup, target: Target, path: str) -> None:
    """One port number per entry of a host group (V11); gateway ports shared only by HTTP entries.

    Several HTTP entries of one group may share a gateway port (V19; ASM's auto-allocation even
    puts every HTTP entry on 10000). The gateway then sees one port and one set of hosts for all
    of them, so they are *tagged*: the sidecar route sets a header naming the entry and the
    gateway route matches it. TLS/TCP traffic carries no header, so there sharing is an error.
    """
    other = group.port_owners.setdefault(target.number, target)
    if other is not target:
        raise ExpansionError(
            DUPLICATE_PORT_IN_GROUP,
            f"{path}.port.number",
            _("Port {port} is already used by entry {other} with the same hosts."),
            port=target.number,
            other=other.name,
        )
    other = group.gateway_port_owners.setdefault(target.gateway_port, target)
    if other is target:
        return
    if other.is_http and target.is_http:
        # NB: the gateway sees the same port and Host for both; a header set by the sidecar tells them apart.
        other.tagged = target.tagged = True
    else:
        raise ExpansionError(
            SHARED_GATEWAY_PORT_IN_GROUP,
            f"{path}.byEgressGateway.port",
            _("Gateway port {port} is already used by entry {other} with the same hosts."),
            port=target.gateway_port,
            other=other.name,
        )


def _mark_catch_alls(group: HostGroup) -> None:
    """Which entries need a last route for the group's sources that the entry does not allow (§4.4).

    Spec §4.4 adds the catch-all when any ``from`` item of the group has a ``workloadSelector``.
    It is also needed when entries of one group come from rules with different namespaces: the
    group is exported to all of them, and without a catch-all a namespace of the other rule would
    fall back to the direct route on this entry's port.
    """
    everyone = len(group.namespaces)
    for target in group.targets:
        target.catch_all = group.has_selector or len(target.namespaces) != everyone


def _required(value: _T | None, path: str) -> _T:
    if value is None or value == [] or value == "":
        raise ExpansionError(
            MISSING_FIELD, path, _("{field} is missing or empty; validate the policy before expanding it."), field=path
        )
    return value


def _union(values: Iterable[str]) -> list[str]:
    """Distinct values in first-seen order (dict keys keep insertion order)."""
    return list(dict.fromkeys(values))
