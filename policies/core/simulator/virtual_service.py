"""VirtualService objects read into route records (``routes``), refusing what is not modelled.

Features that change where a request ends but are not simulated (redirects, rewrites, fault
injection, delegation, subnet matches) are refused with EGRESS-SIM13 instead of ignored, so a
simulation never silently answers for a different configuration.
"""

from __future__ import annotations

from typing import Any

from policies.core.simulator.fields import (
    Visibility,
    as_int,
    as_list,
    as_map,
    as_str,
    as_str_list,
    as_str_map,
    check_known,
    fqdn,
    not_modelled,
)
from policies.core.simulator.routes import (
    MESH,
    Destination,
    RouteMatch,
    RouteRecord,
    StringMatch,
    VirtualServiceRecord,
    gateway_ref,
)

_HTTP_MATCH_KEYS = frozenset(
    {
        "name",
        "uri",
        "scheme",
        "method",
        "authority",
        "port",
        "sourceLabels",
        "gateways",
        "sourceNamespace",
        "headers",
        "withoutHeaders",
        "ignoreUriCase",
        "statPrefix",
    }
)
_L4_MATCH_KEYS = frozenset({"sniHosts", "port", "sourceLabels", "gateways", "sourceNamespace"})
_HTTP_ROUTE_KEYS = frozenset(
    {
        "name",
        "match",
        "route",
        "directResponse",
        "timeout",
        "retries",
        "mirror",
        "mirrors",
        "mirrorPercentage",
        "corsPolicy",
        "headers",
    }
)


def read_virtual_service(ref: str, namespace: str, spec: dict[str, Any], order: int) -> VirtualServiceRecord:
    """A VirtualService spec as a record."""
    if spec.get("delegate") is not None:
        not_modelled(ref, "spec.delegate", "delegate VirtualServices")
    gateways = tuple(gateway_ref(g, namespace) for g in as_str_list(spec.get("gateways"), ref, "spec.gateways")) or (
        MESH,
    )
    context = (ref, namespace, gateways)
    return VirtualServiceRecord(
        ref=ref,
        namespace=namespace,
        hosts=tuple(fqdn(h.lower(), namespace) for h in as_str_list(spec.get("hosts"), ref, "spec.hosts")),
        gateways=gateways,
        visibility=Visibility(as_str_list(spec.get("exportTo"), ref, "spec.exportTo"), namespace),
        http=[_route(r, "http", i, context) for i, r in enumerate(as_list(spec.get("http"), ref, "spec.http"))],
        tls=[_route(r, "tls", i, context) for i, r in enumerate(as_list(spec.get("tls"), ref, "spec.tls"))],
        tcp=[_route(r, "tcp", i, context) for i, r in enumerate(as_list(spec.get("tcp"), ref, "spec.tcp"))],
        order=order,
    )


def _route(value: Any, kind: str, index: int, context: tuple[str, str, tuple[str, ...]]) -> RouteRecord:
    ref, namespace, _gateways = context
    path = f"spec.{kind}[{index}]"
    data = as_map(value, ref, path)
    if kind == "http":
        check_known(data, _HTTP_ROUTE_KEYS, ref, path)
    operations = as_map(as_map(data.get("headers"), ref, f"{path}.headers").get("request"), ref, f"{path}.headers")
    items = as_list(data.get("match"), ref, f"{path}.match")
    matches = tuple(_match(m, kind, f"{path}.match[{i}]", context) for i, m in enumerate(items)) or (
        RouteMatch(gateways=context[2]),
    )
    label = as_str(data.get("name"), ref, f"{path}.name") or f"{ref} {kind}[{index}]"
    direct = as_map(data.get("directResponse"), ref, f"{path}.directResponse")
    if direct:
        status = as_int(direct.get("status"), ref, f"{path}.directResponse.status") or 200
        body = as_map(direct.get("body"), ref, f"{path}.directResponse.body")
        return RouteRecord(label, matches, None, status, as_str(body.get("string"), ref, path) or None)
    sets = {**as_str_map(operations.get("add"), ref, path), **as_str_map(operations.get("set"), ref, path)}
    return RouteRecord(
        label,
        matches,
        _destination(data.get("route"), f"{path}.route", ref, namespace),
        set_headers=tuple((k.lower(), v) for k, v in sets.items()),
        remove_headers=tuple(h.lower() for h in as_str_list(operations.get("remove"), ref, f"{path}.headers")),
    )


def _match(value: Any, kind: str, path: str, context: tuple[str, str, tuple[str, ...]]) -> RouteMatch:
    ref, namespace, vs_gateways = context
    data = as_map(value, ref, path)
    check_known(data, _HTTP_MATCH_KEYS if kind == "http" else _L4_MATCH_KEYS, ref, path)
    own = tuple(gateway_ref(g, namespace) for g in as_str_list(data.get("gateways"), ref, f"{path}.gateways"))
    labels = as_str_map(data.get("sourceLabels"), ref, f"{path}.sourceLabels")
    ignore_case = data.get("ignoreUriCase") is True
    return RouteMatch(
        gateways=own or vs_gateways,
        ignores_sources=kind == "http" and bool(own),
        port=as_int(data.get("port"), ref, f"{path}.port"),
        source_namespace=as_str(data.get("sourceNamespace"), ref, f"{path}.sourceNamespace") or None,
        source_labels=tuple(labels.items()),
        sni_hosts=tuple(h.lower() for h in as_str_list(data.get("sniHosts"), ref, f"{path}.sniHosts")),
        uri=_string_match(data.get("uri"), ref, f"{path}.uri", ignore_case),
        method=_string_match(data.get("method"), ref, f"{path}.method", False),
        authority=_string_match(data.get("authority"), ref, f"{path}.authority", True),
        scheme=_string_match(data.get("scheme"), ref, f"{path}.scheme", False),
        headers=_header_matches_of(data.get("headers"), ref, f"{path}.headers"),
        without_headers=_header_matches_of(data.get("withoutHeaders"), ref, f"{path}.withoutHeaders"),
    )


def _header_matches_of(value: Any, ref: str, path: str) -> tuple[tuple[str, StringMatch | None], ...]:
    items = as_map(value, ref, path).items()
    return tuple((name.lower(), _string_match(match, ref, f"{path}.{name}", False)) for name, match in items)


def _string_match(value: Any, ref: str, path: str, ignore_case: bool) -> StringMatch | None:
    data = as_map(value, ref, path)
    for kind in ("exact", "prefix", "regex"):
        if kind in data:
            return StringMatch(kind, as_str(data[kind], ref, f"{path}.{kind}"), ignore_case)
    if data:
        not_modelled(ref, path, f"string match {sorted(data)}")
    return None


def _destination(value: Any, path: str, ref: str, namespace: str) -> Destination:
    """The heaviest destination of a route (the one most requests take)."""
    items = [as_map(item, ref, f"{path}[{i}]") for i, item in enumerate(as_list(value, ref, path))]
    if not items:
        not_modelled(ref, path, "a route without destinations")
    best = max(items, key=lambda item: as_int(item.get("weight"), ref, path) or (100 if len(items) == 1 else 0))
    data = as_map(best.get("destination"), ref, f"{path}.destination")
    port = as_map(data.get("port"), ref, f"{path}.destination.port")
    return Destination(
        host=fqdn(as_str(data.get("host"), ref, f"{path}.destination.host").lower(), namespace),
        subset=as_str(data.get("subset"), ref, f"{path}.destination.subset") or None,
        port=as_int(port.get("number"), ref, f"{path}.destination.port.number"),
    )
