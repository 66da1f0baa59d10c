"""VirtualServices read into routes that can be filtered per proxy and matched per request.

Istio evaluates a route match in two stages: when istiod builds a proxy's config it drops match
entries whose ``gateways``, ``port``, ``sourceNamespace`` or ``sourceLabels`` do not fit that
proxy (a route left with none is dropped, a VirtualService left with no routes is ignored), and
Envoy then tests the remaining conditions (uri, method, SNI, ...) per request. ``pick_route``
does both in one pass and reports whether anything survived the first stage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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
from policies.core.simulator.hosts import any_host_matches
from policies.core.simulator.request import ParsedUrl

MESH = "mesh"
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


@dataclass(frozen=True, slots=True)
class StringMatch:
    """Istio ``StringMatch``: exact, prefix or (full) regex."""

    kind: str
    value: str
    ignore_case: bool

    def matches(self, text: str) -> bool:
        """Whether ``text`` satisfies the match."""
        if self.ignore_case:
            text, value = text.lower(), self.value.lower()
        else:
            value = self.value
        if self.kind == "exact":
            return text == value
        if self.kind == "prefix":
            return text.startswith(value)
        return re.fullmatch(value, text) is not None


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """One match entry; ``gateways`` is already resolved (route-level or inherited)."""

    gateways: tuple[str, ...]
    port: int | None = None
    source_namespace: str | None = None
    source_labels: tuple[tuple[str, str], ...] = ()
    sni_hosts: tuple[str, ...] = ()
    uri: StringMatch | None = None
    method: StringMatch | None = None
    authority: StringMatch | None = None
    scheme: StringMatch | None = None
    headers: tuple[tuple[str, StringMatch | None], ...] = ()
    without_headers: tuple[tuple[str, StringMatch | None], ...] = ()

    def fits_proxy(self, gateway: str, port: int, namespace: str, labels: dict[str, str]) -> bool:
        """Stage 1: does istiod keep this entry for that proxy and listener port?"""
        return (
            gateway in self.gateways
            and (self.port is None or self.port == port)
            and (self.source_namespace is None or self.source_namespace == namespace)
            and all(labels.get(key) == value for key, value in self.source_labels)
        )

    def fits_request(self, url: ParsedUrl, method: str, headers: dict[str, str]) -> bool:
        """Stage 2: does Envoy match this request?"""
        return (
            (not self.sni_hosts or any_host_matches(self.sni_hosts, url.host))
            and (self.uri is None or self.uri.matches(url.path.split("?", 1)[0]))
            and (self.method is None or self.method.matches(method))
            and (self.authority is None or self.authority.matches(url.host))
            and (self.scheme is None or self.scheme.matches(url.scheme))
            and all(_header_matches(headers, name, match) for name, match in self.headers)
            and not any(_header_matches(headers, name, match) for name, match in self.without_headers)
        )


def _header_matches(headers: dict[str, str], name: str, match: StringMatch | None) -> bool:
    """An empty header match tests presence (Istio ``headers: {name: {}}``)."""
    value = headers.get(name)
    return value is not None and (match is None or match.matches(value))


@dataclass(frozen=True, slots=True)
class Destination:
    """Where a route sends traffic: ``outbound|port|subset|host``."""

    host: str
    subset: str | None
    port: int | None


@dataclass(frozen=True, slots=True)
class RouteRecord:
    """An http, tls or tcp route: a forward to a destination or a direct response."""

    label: str
    matches: tuple[RouteMatch, ...]
    destination: Destination | None
    direct_status: int | None = None
    direct_body: str | None = None
    set_headers: tuple[tuple[str, str], ...] = ()
    remove_headers: tuple[str, ...] = ()

    def rewrite_headers(self, headers: dict[str, str]) -> dict[str, str]:
        """The request headers after this route's ``headers.request`` operations."""
        if not (self.set_headers or self.remove_headers):
            return headers
        out = {k: v for k, v in headers.items() if k not in self.remove_headers}
        out.update(self.set_headers)
        return out


@dataclass(slots=True)
class VirtualServiceRecord:
    """A VirtualService with its routes per traffic type."""

    ref: str
    namespace: str
    hosts: tuple[str, ...]
    gateways: tuple[str, ...]
    visibility: Visibility
    http: list[RouteRecord]
    tls: list[RouteRecord]
    tcp: list[RouteRecord]
    order: int


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """The request as a proxy sees it: URL, method and the headers earlier proxies set."""

    url: ParsedUrl
    method: str
    headers: dict[str, str]


def pick_route(
    routes: list[RouteRecord], gateway: str, port: int, proxy: tuple[str, dict[str, str]], request: HttpRequest
) -> tuple[bool, RouteRecord | None]:
    """The first route matching the request, and whether any route survived for this proxy.

    Args:
        routes: Routes of one kind (http, tls or tcp) of a VirtualService, in order.
        gateway: ``mesh`` for sidecars, else the ``namespace/name`` of the Gateway.
        port: The listener (or gateway server) port.
        proxy: Namespace and labels of the proxy's workload.
        request: What is matched per request.
    """
    namespace, labels = proxy
    survived = False
    for route in routes:
        for match in route.matches:
            if match.fits_proxy(gateway, port, namespace, labels):
                survived = True
                if match.fits_request(request.url, request.method, request.headers):
                    return True, route
    return survived, None


def gateway_ref(name: str, namespace: str) -> str:
    """``mesh``, or a Gateway reference as ``namespace/name`` (short names are relative)."""
    return name if name == MESH or "/" in name else f"{namespace}/{name}"


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
