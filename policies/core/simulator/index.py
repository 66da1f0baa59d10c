"""Istio objects read once into a catalog, and each namespace's view of it built once.

A sidecar only knows the objects exported to its namespace, so what a request meets depends on
the source namespace alone (labels only filter routes later). ``NamespaceView`` holds that
namespace's listeners (HTTP ports, TLS SNI chains, TCP chains), its mesh VirtualServices and its
DestinationRule lookups as dictionaries; ``Mesh`` builds one per namespace on first use and
keeps it, so simulating a request costs lookups, not scans.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from policies.core.i18n import _
from policies.core.simulator.authz import ROOT_NAMESPACE, AuthorizationPolicyRecord, read_authorization_policy
from policies.core.simulator.fields import as_map, as_str, service_namespace
from policies.core.simulator.hosts import HostTable
from policies.core.simulator.objects import (
    DestinationRuleRecord,
    GatewayRecord,
    ServiceEntryRecord,
    read_destination_rule,
    read_gateway,
    read_service_entry,
)
from policies.core.simulator.request import SimulationInputError
from policies.core.simulator.routes import MESH, VirtualServiceRecord
from policies.core.simulator.sidecar_scope import SidecarScope, read_sidecar
from policies.core.simulator.virtual_service import read_virtual_service

NETWORKING_VERSIONS = frozenset(
    {"networking.istio.io/v1", "networking.istio.io/v1beta1", "networking.istio.io/v1alpha3"}
)
SECURITY_VERSIONS = frozenset({"security.istio.io/v1", "security.istio.io/v1beta1"})
NETWORKING_KINDS = frozenset({"ServiceEntry", "VirtualService", "DestinationRule", "Gateway", "Sidecar"})


@dataclass
class Catalog:
    """Every supported Istio object, read into records, in input order."""

    service_entries: list[ServiceEntryRecord] = field(default_factory=list)
    virtual_services: list[VirtualServiceRecord] = field(default_factory=list)
    destination_rules: list[DestinationRuleRecord] = field(default_factory=list)
    gateways: list[GatewayRecord] = field(default_factory=list)
    authorization_policies: list[AuthorizationPolicyRecord] = field(default_factory=list)
    sidecars: list[SidecarScope] = field(default_factory=list)
    rules_by_namespace: dict[str, list[DestinationRuleRecord]] = field(default_factory=dict)


def read_catalog(objects: list[dict[str, Any]]) -> Catalog:
    """Read Istio objects (plain dicts) into a catalog.

    Raises:
        SimulationInputError: an object is not a mapping, has an unsupported kind or apiVersion,
            or uses a field of the wrong type or a feature the simulator does not model.
    """
    catalog = Catalog()
    for order, obj in enumerate(objects):
        _read_one(catalog, obj, order)
    grouped: dict[str, list[DestinationRuleRecord]] = defaultdict(list)
    for rule in catalog.destination_rules:
        grouped[rule.namespace].append(rule)
    catalog.rules_by_namespace = dict(grouped)
    return catalog


def _read_one(catalog: Catalog, obj: Any, order: int) -> None:
    if not isinstance(obj, dict):
        raise SimulationInputError("EGRESS-SIM10", _("Object #{index} is not a mapping."), index=order + 1)
    api_version, kind = obj.get("apiVersion"), obj.get("kind")
    metadata = as_map(obj.get("metadata"), f"object #{order + 1}", "metadata")
    namespace = as_str(metadata.get("namespace"), f"{kind} #{order + 1}", "metadata.namespace", "default")
    ref = f"{kind} {namespace}/{as_str(metadata.get('name'), f'{kind} #{order + 1}', 'metadata.name')}"
    spec = as_map(obj.get("spec"), ref, "spec")
    if api_version in NETWORKING_VERSIONS and kind in NETWORKING_KINDS:
        created = as_str(metadata.get("creationTimestamp"), ref, "metadata.creationTimestamp")
        _read_networking(catalog, kind, ref.split(" ", 1)[1], namespace, spec, (order, created))
    elif api_version in SECURITY_VERSIONS and kind == "AuthorizationPolicy":
        catalog.authorization_policies.append(read_authorization_policy(ref.split(" ", 1)[1], namespace, spec))
    else:
        raise SimulationInputError(
            "EGRESS-SIM11",
            _(
                "{ref}: the simulator models ServiceEntry, VirtualService, DestinationRule, Gateway "
                "(networking.istio.io) and AuthorizationPolicy (security.istio.io), not {kind} ({api_version})."
            ),
            ref=ref,
            kind=kind,
            api_version=api_version,
        )


def _read_networking(
    catalog: Catalog, kind: str, ref: str, namespace: str, spec: dict[str, Any], position: tuple[int, str]
) -> None:
    order, created = position
    if kind == "Sidecar":
        catalog.sidecars.append(read_sidecar(ref, namespace, spec, created))
    elif kind == "ServiceEntry":
        catalog.service_entries.append(read_service_entry(ref, namespace, spec, order, created))
    elif kind == "VirtualService":
        catalog.virtual_services.append(read_virtual_service(ref, namespace, spec, order))
    elif kind == "DestinationRule":
        catalog.destination_rules.append(read_destination_rule(ref, namespace, spec, order))
    else:
        catalog.gateways.append(read_gateway(f"{namespace}/{ref.split('/', 1)[1]}", namespace, spec, order))


class NamespaceView:
    """What proxies in one namespace know: listeners per port, mesh routes, DestinationRules."""

    def __init__(self, catalog: Catalog, namespace: str, scope: SidecarScope | None = None) -> None:
        self.namespace = namespace
        self.scope = scope
        self.http: dict[int, HostTable[ServiceEntryRecord]] = defaultdict(HostTable)
        self.sni: dict[int, HostTable[ServiceEntryRecord]] = defaultdict(HostTable)
        self.tcp_wildcard: dict[int, ServiceEntryRecord] = {}
        self.tcp_wildcard_claims: dict[int, int] = defaultdict(int)  # ServiceEntries claiming each port
        self.tcp_addressed: dict[tuple[int, str], ServiceEntryRecord] = {}
        self.services: HostTable[ServiceEntryRecord] = HostTable()
        self.mesh_routes: HostTable[VirtualServiceRecord] = HostTable()
        self._catalog = catalog
        self._rules: dict[tuple[str, str | None, tuple[tuple[str, str], ...]], DestinationRuleRecord | None] = {}
        self.destinations: set[str] = set()  # hosts the imported mesh VirtualServices route to
        for service in catalog.virtual_services:
            if not (service.visibility.visible_to(namespace) and _bound_to_mesh(service)):
                continue
            if any(self.imports(service.namespace, h) for h in service.hosts):
                for host in service.hosts:
                    self.mesh_routes.add(host, service)
                self.destinations.update(_destination_hosts(service))
        for entry in catalog.service_entries:
            if entry.visibility.visible_to(namespace) and any(
                self.imports_service(entry.namespace, h) for h in entry.hosts
            ):
                self._add_service(entry)

    def imports(self, object_namespace: str, host: str) -> bool:
        """Whether this view's Sidecar (if any) lets the proxy import that namespace's host."""
        return self.scope is None or self.scope.imports(object_namespace, host, self.namespace)

    def imports_service(self, object_namespace: str, host: str) -> bool:
        """A service has clusters here: imported by the Sidecar's egress hosts, or the destination
        of an imported VirtualService (pilot's SidecarScope adds those to its services)."""
        return self.imports(object_namespace, host) or host in self.destinations

    def _add_service(self, entry: ServiceEntryRecord) -> None:
        for host in entry.hosts:
            if self.imports_service(entry.namespace, host):
                self.services.add(host, entry)
        # NB: listeners come from the egress hosts only, not from VirtualService destinations.
        hosts = [h for h in entry.hosts if self.imports(entry.namespace, h)]
        if not hosts:
            return
        for number, port in entry.ports.items():
            for host in hosts:
                if port.family == "http":
                    self.http[number].add(host, entry)
                elif port.family == "tls":
                    self.sni[number].add(host, entry)
                elif entry.addresses:
                    self.tcp_addressed.setdefault((number, host), entry)
            if port.family == "tcp" and not entry.addresses:
                # NB: no VIP → Istio builds a 0.0.0.0:<port> chain that takes every destination (IST0134),
                # and keeps only the first such chain per port in its service order.
                self.tcp_wildcard_claims[number] += 1
                current = self.tcp_wildcard.get(number)
                if current is None or entry.istio_order < current.istio_order:
                    self.tcp_wildcard[number] = entry

    def destination_rule(
        self, host: str, owner_namespace: str | None, labels: dict[str, str] | None = None
    ) -> DestinationRuleRecord | None:
        """The DestinationRule a proxy here uses for ``host``.

        Istio looks in the proxy's own namespace, then the service's namespace, then the root
        namespace, and takes the first rule found there (spec §4.2); in its own namespace a rule
        whose workloadSelector picks the proxy (``labels``) comes before the namespace-wide ones.
        """
        labels = labels or {}
        key = (host, owner_namespace, tuple(sorted(labels.items())))
        if key not in self._rules:
            self._rules[key] = self._find_rule(host, owner_namespace, labels)
        return self._rules[key]

    def _find_rule(
        self, host: str, owner_namespace: str | None, labels: dict[str, str]
    ) -> DestinationRuleRecord | None:
        owner = owner_namespace or service_namespace(host)
        for step, namespace in enumerate((self.namespace, owner, ROOT_NAMESPACE)):
            table: HostTable[DestinationRuleRecord] = HostTable()
            rules = self._catalog.rules_by_namespace.get(namespace or "", [])
            for rule in sorted(rules, key=lambda r: r.selector is None):  # NB: stable: selector rules first
                if rule.applies_to(self.namespace, labels) and (
                    step == 0 or rule.visibility.visible_to(self.namespace)
                ):
                    table.add(rule.host, rule)
            found = table.get(host)
            if found is not None:
                return found
        return None


def _destination_hosts(service: VirtualServiceRecord) -> set[str]:
    routes = (*service.http, *service.tls, *service.tcp)
    return {route.destination.host for route in routes if route.destination is not None}


def _bound_to_mesh(service: VirtualServiceRecord) -> bool:
    return MESH in service.gateways or any(
        MESH in match.gateways for route in (*service.http, *service.tls, *service.tcp) for match in route.matches
    )
