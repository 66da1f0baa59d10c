"""VirtualServices read into routes that can be filtered per proxy and matched per request.

Istio evaluates a route match in two stages: when istiod builds a proxy's config it drops match
entries whose ``gateways``, ``port``, ``sourceNamespace`` or ``sourceLabels`` do not fit that
proxy (a route left with none is dropped, a VirtualService left with no routes is ignored), and
Envoy then tests the remaining conditions (uri, method, SNI, ...) per request. ``pick_route``
does both in one pass and reports whether anything survived the first stage. Reading
VirtualService objects into these records lives in ``virtual_service``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from policies.core.simulator.fields import Visibility
from policies.core.simulator.hosts import any_host_matches
from policies.core.simulator.request import ParsedUrl

MESH = "mesh"


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
    """One match entry; ``gateways`` is already resolved (route-level or inherited).

    ``ignores_sources``: an HTTP match that lists gateways itself. Istio's ``sourceMatchHTTP``
    (pilot/pkg/networking/core/route/route.go) keeps such an entry for every proxy of a listed
    gateway and never looks at its ``sourceNamespace``/``sourceLabels``; TLS and TCP matches
    (``matchTLS``/``matchTCP``) require every field.
    """

    gateways: tuple[str, ...]
    ignores_sources: bool = False
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
            and (self.ignores_sources or self.fits_source(namespace, labels))
        )

    def fits_source(self, namespace: str, labels: dict[str, str]) -> bool:
        """The entry's ``sourceNamespace`` and ``sourceLabels`` select that workload."""
        return (self.source_namespace is None or self.source_namespace == namespace) and all(
            labels.get(key) == value for key, value in self.source_labels
        )

    def overrides_sources(self, namespace: str, labels: dict[str, str]) -> bool:
        """Istio keeps this entry for a workload its source fields do not select."""
        return self.ignores_sources and not self.fits_source(namespace, labels)

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


@dataclass(frozen=True, slots=True)
class RoutePick:
    """The outcome of route selection for one request."""

    survived: bool  # some route was kept for this proxy and port
    route: RouteRecord | None = None
    match: RouteMatch | None = None


def pick_route(
    routes: list[RouteRecord], gateway: str, port: int, proxy: tuple[str, dict[str, str]], request: HttpRequest
) -> RoutePick:
    """The first route (and match entry) matching the request, and whether any route survived.

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
                    return RoutePick(True, route, match)
    return RoutePick(survived)


def gateway_ref(name: str, namespace: str) -> str:
    """``mesh``, or a Gateway reference as ``namespace/name`` (short names are relative)."""
    return name if name == MESH or "/" in name else f"{namespace}/{name}"
