"""Builders for the Gateway, ServiceEntry and DestinationRule objects of spec §4.2.

Each builder is a plain function of the ``ExpansionPlan`` and returns one Istio object as a
dict in canonical key order (apiVersion, kind, metadata{name, namespace, labels}, spec), the
order the spec's YAML shows. Lists and dicts are never shared between objects: the YAML dumper
would otherwise print anchors and aliases instead of plain values.
"""

from __future__ import annotations

from typing import Any

from policies.core.expansion.plan import ExpansionPlan, HostGroup, Target
from policies.core.gateway import TranslationSettings
from policies.core.names import SERVICE_ENTRY, UPGRADE_DESTINATION_RULE, truncate_name

IstioObject = dict[str, Any]


def istio_object(
    api_version: str, kind: str, name: str, namespace: str, labels: dict[str, str], spec: Any
) -> IstioObject:
    """One Kubernetes object in canonical key order, with its own copy of ``labels``."""
    return {
        "apiVersion": api_version,
        "kind": kind,
        "metadata": {"name": name, "namespace": namespace, "labels": dict(labels)},
        "spec": spec,
    }


def gateway_object(plan: ExpansionPlan) -> IstioObject:
    """The policy's Gateway: one mTLS-terminating server per to-entry on its gateway port (§4.2 #1)."""
    servers = [_server(target) for group in plan.groups for target in group.targets]
    spec = {"selector": dict(plan.selector), "servers": servers}
    return istio_object(plan.networking_api, "Gateway", plan.object_name, plan.policy_namespace, plan.labels, spec)


def _server(target: Target) -> dict[str, Any]:
    # NB: HTTPS servers terminate mTLS and route HTTP; TLS servers terminate mTLS and forward TCP.
    scheme, protocol = ("https", "HTTPS") if target.is_http else ("tls", "TLS")
    return {
        "port": {
            "number": target.gateway_port,
            "name": f"{scheme}-{target.gateway_port}-{target.name}",
            "protocol": protocol,
        },
        "hosts": list(target.hosts),
        "tls": {"mode": "ISTIO_MUTUAL"},
    }


def service_entry(plan: ExpansionPlan, group: HostGroup) -> IstioObject:
    """The ServiceEntry registering a host group, seen by its sources and the gateway (§4.2 #2)."""
    spec = {
        "hosts": list(group.hosts),
        "location": "MESH_EXTERNAL",
        # NB: with NONE the gateway would forward to the original destination, itself, and loop.
        "resolution": "DNS",
        "ports": _service_entry_ports(plan, group),
        "exportTo": _with(group.namespaces, plan.gateway_namespace),
    }
    name = group.object_names[SERVICE_ENTRY]
    return istio_object(plan.networking_api, "ServiceEntry", name, plan.policy_namespace, plan.labels, spec)


def _service_entry_ports(plan: ExpansionPlan, group: HostGroup) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    names: set[str] = set()
    for target in group.targets:
        ports.append(_entry_port(plan, target, _unique_name(target.port_name, target.number, names)))
    if plan.settings.upgrade_style == "gatewayPort":
        _add_upgrade_ports(group, ports, names)
    return ports


def _unique_name(name: str, number: int, names: set[str]) -> str:
    """``name``, or ``name-{number}`` when another port of the group already uses ``name``.

    Port names are the list-map key of ServiceEntry ports, so two entries of one host group
    named ``http`` (on 80 and 8080) would make the object invalid; the protocol prefix stays.
    """
    unique = name if name not in names else f"{name}-{number}"
    while unique in names:
        unique += "-x"
    names.add(unique)
    return unique


def _entry_port(plan: ExpansionPlan, target: Target, name: str) -> dict[str, Any]:
    port: dict[str, Any] = {"number": target.number, "name": name, "protocol": target.protocol}
    if target.upgrade_port is not None and plan.settings.upgrade_style == "targetPort":
        port["targetPort"] = target.upgrade_port
    return port


def _add_upgrade_ports(group: HostGroup, ports: list[dict[str, Any]], names: set[str]) -> None:
    """Gateway form of §3(b): the upgrade port is declared as HTTPS unless an entry declares it."""
    numbers = {port["number"] for port in ports}
    for target in group.targets:
        number = target.upgrade_port
        if number is None or number in numbers:
            continue
        ports.append({"number": number, "name": _unique_name(f"https-{number}", number, names), "protocol": "HTTPS"})
        numbers.add(number)


def gateway_destination_rule(plan: ExpansionPlan) -> IstioObject:
    """The DestinationRule for the gateway Service: one mTLS subset per entry, in GN (§4.2 #3)."""
    subsets: list[dict[str, Any]] = []
    for group in plan.groups:
        for target in group.targets:
            subsets.append(_mtls_subset(target.name, target.gateway_port, target.hosts[0]))
            if target.catch_all and not target.is_http:
                subsets.append(_mtls_subset(deny_subset(target), target.gateway_port, f"blocked.{target.name}.invalid"))
    spec = {"host": plan.service_host, "exportTo": list(plan.namespaces), "subsets": subsets}
    return istio_object(
        plan.networking_api, "DestinationRule", plan.object_name, plan.gateway_namespace, plan.labels, spec
    )


def deny_subset(target: Target) -> str:
    """The subset whose SNI matches no gateway server, so the gateway closes the connection (§4.4)."""
    return truncate_name(f"{target.name}-deny")


def upgrade_subset(target: Target) -> str:
    """The dedicated TLS-origination subset of the ``gatewayPort`` upgrade style (§4.6)."""
    return truncate_name(f"{target.name}-upgrade")


def _mtls_subset(name: str, port: int, sni: str) -> dict[str, Any]:
    tls = {"mode": "ISTIO_MUTUAL", "sni": sni}
    return {"name": name, "trafficPolicy": {"portLevelSettings": [{"port": {"number": port}, "tls": tls}]}}


def upgrade_destination_rule(plan: ExpansionPlan, group: HostGroup) -> IstioObject | None:
    """TLS origination toward H0 for the group's upgraded entries, seen by the gateway only (§4.2 #6).

    One rule per host group rather than per entry: Istio merges rules for one host by subsets
    only and keeps the first rule's ``trafficPolicy``, so a second rule's ports would be lost.
    """
    upgraded = [target for target in group.targets if target.upgrade_port is not None]
    if not upgraded:
        return None
    spec: dict[str, Any] = {"host": group.hosts[0], "exportTo": [plan.gateway_namespace]}
    namespace = plan.policy_namespace
    if plan.settings.upgrade_ca_credential:
        # NB: Istio reads a DestinationRule's credentialName for proxies its workloadSelector picks,
        # and a selector applies in the rule's own namespace: so this rule moves to the gateway's.
        namespace = plan.gateway_namespace
        spec = {"host": group.hosts[0], "workloadSelector": {"matchLabels": dict(plan.selector)}, "exportTo": ["."]}
    tls = _simple_tls(plan.settings)
    if plan.settings.upgrade_style == "gatewayPort":
        spec["subsets"] = [_simple_subset(target, tls) for target in upgraded]
    else:
        spec["trafficPolicy"] = {"portLevelSettings": [_port_tls(target.number, tls) for target in upgraded]}
    name = group.object_names[UPGRADE_DESTINATION_RULE]
    return istio_object(plan.networking_api, "DestinationRule", name, namespace, plan.labels, spec)


def _simple_subset(target: Target, tls: dict[str, Any]) -> dict[str, Any]:
    assert target.upgrade_port is not None  # NB: callers pass upgraded entries only
    settings = [_port_tls(target.upgrade_port, tls)]
    return {"name": upgrade_subset(target), "trafficPolicy": {"portLevelSettings": settings}}


def _simple_tls(settings: TranslationSettings) -> dict[str, Any]:
    """TLS origination at the gateway, verifying the server when a CA is configured (else IST0129).

    NB: no sni, so the Host header drives SNI (Istio 1.30 sets auto-SNI, and with a CA it also
    checks the certificate against that name).
    """
    tls: dict[str, Any] = {"mode": "SIMPLE"}
    if settings.upgrade_ca_credential:
        tls["credentialName"] = settings.upgrade_ca_credential
    elif settings.upgrade_ca_certificates:
        tls["caCertificates"] = settings.upgrade_ca_certificates
    return tls


def _port_tls(port: int, tls: dict[str, Any]) -> dict[str, Any]:
    return {"port": {"number": port}, "tls": dict(tls)}


def _with(namespaces: list[str], extra: str) -> list[str]:
    return [*namespaces, extra] if extra not in namespaces else list(namespaces)
