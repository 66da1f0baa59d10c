"""Builders for the two VirtualServices of each host group (spec §4.2 #4 and #5, §4.4).

The mesh half runs in the client sidecars: it sends the selected sources to the gateway and,
where some visible source is not selected, ends with a catch-all that fails the request the way
REGISTRY_ONLY would (502 for HTTP, a reset for TLS/TCP). The gateway half runs in the gateway:
it forwards what arrives on each gateway port to H0.
"""

from __future__ import annotations

from typing import Any

from policies.core.expansion.objects import IstioObject, deny_subset, istio_object, upgrade_subset
from policies.core.expansion.plan import ExpansionPlan, HostGroup, Source, Target
from policies.core.names import GATEWAY_VIRTUAL_SERVICE, MESH_VIRTUAL_SERVICE

MESH = "mesh"
TARGET_HEADER = "x-egress-console-target"
Route = dict[str, Any]


def mesh_virtual_service(plan: ExpansionPlan, group: HostGroup) -> IstioObject:
    """The sidecar half: selected sources go to the gateway subset, the rest hit the catch-all."""
    routes: dict[str, list[Route]] = {"http": [], "tls": [], "tcp": []}
    for target in group.targets:
        kind = "http" if target.is_http else "tcp" if target.protocol == "TCP" else "tls"
        routes[kind].append(_allow_route(plan, target, kind))
        if target.catch_all:
            routes[kind].append(_catch_all_route(plan, target, kind))
    spec: dict[str, Any] = {"hosts": list(group.hosts), "gateways": [MESH], "exportTo": list(group.namespaces)}
    spec.update((kind, kind_routes) for kind, kind_routes in routes.items() if kind_routes)
    name = group.object_names[MESH_VIRTUAL_SERVICE]
    return istio_object(plan.networking_api, "VirtualService", name, plan.policy_namespace, plan.labels, spec)


def _allow_route(plan: ExpansionPlan, target: Target, kind: str) -> Route:
    matches = [_source_match(target, kind, source) for source in target.sources]
    route = _to_gateway(plan, target.name, target.gateway_port)
    if kind != "http":
        return {"match": matches, "route": route}
    allow: Route = {"name": f"via-{plan.gateway_name}", "match": matches, "route": route}
    if target.tagged:
        # NB: "set" overwrites a value sent by the client, so a source cannot pick another entry.
        allow["headers"] = {"request": {"set": {TARGET_HEADER: target.name}}}
    return allow


def _source_match(target: Target, kind: str, source: Source) -> dict[str, Any]:
    match = _port_match(target, kind)
    if kind == "http":
        # NB: Istio ignores sourceNamespace/sourceLabels of an HTTP match that lists gateways
        # (sourceMatchHTTP in pilot's route.go); the VirtualService's gateways: [mesh] binds it.
        del match["gateways"]
    match["sourceNamespace"] = source.namespace
    if source.labels:
        match["sourceLabels"] = dict(source.labels)
    return match


def _port_match(target: Target, kind: str) -> dict[str, Any]:
    match: dict[str, Any] = {"gateways": [MESH], "port": target.number}
    if kind == "tls":
        match["sniHosts"] = list(target.hosts)
    return match


def _catch_all_route(plan: ExpansionPlan, target: Target, kind: str) -> Route:
    """§4.4: the same failure REGISTRY_ONLY gives, instead of a fallback to the direct route."""
    if kind == "http":
        return {"name": "deny-unselected", "match": [_port_match(target, kind)], "directResponse": {"status": 502}}
    return {"match": [_port_match(target, kind)], "route": _to_gateway(plan, deny_subset(target), target.gateway_port)}


def _to_gateway(plan: ExpansionPlan, subset: str, port: int) -> list[Route]:
    return [{"destination": {"host": plan.service_host, "subset": subset, "port": {"number": port}}}]


def gateway_virtual_service(plan: ExpansionPlan, group: HostGroup) -> IstioObject:
    """The gateway half: each gateway port of the group is forwarded to H0 (§4.2 #5)."""
    http: list[Route] = []
    tcp: list[Route] = []
    for target in group.targets:
        match: list[dict[str, Any]] = [{"gateways": [plan.gateway_ref], "port": target.gateway_port}]
        if target.is_http:
            http.append(_to_external(plan, target, match))
        else:
            tcp.append({"match": match, "route": [_upstream(plan, target)]})
    spec: dict[str, Any] = {
        "hosts": list(group.hosts),
        "gateways": [plan.gateway_ref],
        "exportTo": [plan.gateway_namespace],
    }
    if http:
        spec["http"] = http
    if tcp:
        spec["tcp"] = tcp
    name = group.object_names[GATEWAY_VIRTUAL_SERVICE]
    return istio_object(plan.networking_api, "VirtualService", name, plan.policy_namespace, plan.labels, spec)


def _to_external(plan: ExpansionPlan, target: Target, match: list[dict[str, Any]]) -> Route:
    route: Route = {"name": "to-external", "match": match, "route": [_upstream(plan, target)]}
    if target.tagged:
        match[0]["headers"] = {TARGET_HEADER: {"exact": target.name}}
        route["headers"] = {"request": {"remove": [TARGET_HEADER]}}
    return route


def _upstream(plan: ExpansionPlan, target: Target) -> Route:
    host = target.hosts[0]
    if target.upgrade_port is not None and plan.settings.upgrade_style == "gatewayPort":
        # NB: a dedicated subset keeps the raw outbound|443||H0 cluster free of TLS origination (§4.6).
        return {
            "destination": {"host": host, "subset": upgrade_subset(target), "port": {"number": target.upgrade_port}}
        }
    # NB: with the targetPort style the endpoint port is the upgrade port and DR #6 adds TLS.
    return {"destination": {"host": host, "port": {"number": target.number}}}
