"""The client's sidecar: which listener takes the request, which route, which cluster.

The order of checks mirrors Envoy's outbound listeners as Istio builds them (spec §3(e), §5):
a TCP ServiceEntry with addresses claims its hosts; plain HTTP goes to the port's HTTP listener
(every namespace has one on port 80, §5 model); TLS is matched by SNI; a TCP ServiceEntry port
without addresses takes whatever is left on that port. Unknown destinations end in ``block_all``
(502) or ``BlackHoleCluster`` (reset) under REGISTRY_ONLY, in ``PassthroughCluster`` under
ALLOW_ANY.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from policies.core.simulator.gateway import Arrival
from policies.core.simulator.index import NamespaceView
from policies.core.simulator.objects import ServiceEntryRecord
from policies.core.simulator.request import ParsedUrl, Request, workload_name
from policies.core.simulator.result import EXTERNAL_STATUS, RESET, Outcome, Trace
from policies.core.simulator.routes import (
    MESH,
    Destination,
    HttpRequest,
    RouteRecord,
    VirtualServiceRecord,
    pick_route,
)
from policies.core.simulator.upstream import UPSTREAM_FAILURE_STATUS, Hop, cluster_name, forward, matched_host

if TYPE_CHECKING:
    from policies.core.simulator.mesh import Mesh

HTTP_LISTENER_PORTS = frozenset({80})
BLOCK_ALL_STATUS = 502
NO_ROUTE_STATUS = 404


class SidecarWalk:
    """One request's way through its client sidecar (and on to the gateway or the external host)."""

    __slots__ = ("hop", "http", "mesh", "request", "trace", "url", "view", "workload")

    def __init__(self, mesh: Mesh, request: Request, url: ParsedUrl, method: str, trace: Trace) -> None:
        self.mesh, self.request, self.url, self.trace = mesh, request, url, trace
        self.http = HttpRequest(url, method, {})
        self.workload = (request.source_namespace, request.source_labels)
        self.view: NamespaceView = mesh.view(request.source_namespace)
        proxy = f"sidecar {workload_name(request.source_namespace, request.source_labels)}"
        self.hop = Hop(proxy, http=not url.is_tls)

    def run(self) -> Outcome:
        """Pick the listener/filter chain the request lands on and follow it."""
        url, view = self.url, self.view
        addressed = view.tcp_addressed.get((url.port, url.host))
        if addressed is not None:
            return self._tcp_chain(addressed, f"TCP chain of ServiceEntry {addressed.ref} (addresses)")
        if not url.is_tls:
            table = view.http.get(url.port)
            if table is not None or url.port in HTTP_LISTENER_PORTS:
                return self._http_listener(table.get(url.host) if table is not None else None)
        else:
            table = view.sni.get(url.port)
            service = table.get(url.host) if table is not None else None
            if service is not None:
                return self._tls_chain(service)
        wildcard = view.tcp_wildcard.get(url.port)
        if wildcard is not None:
            return self._tcp_chain(
                wildcard, f"TCP chain 0.0.0.0:{url.port} of ServiceEntry {wildcard.ref} (no addresses)"
            )
        return self._unknown()

    def _unknown(self) -> Outcome:
        url, proxy = self.url, self.hop.proxy
        if self.mesh.mode == "ALLOW_ANY":
            return self._passthrough()
        target = f"SNI {url.host} on port {url.port}" if url.is_tls else f"{url.host}:{url.port}"
        trace_text = "no HTTP listener" if not url.is_tls else "no filter chain"
        self.trace.add(f"{proxy}: {trace_text} for {target} → BlackHoleCluster (UH)")
        return Outcome(
            RESET,
            f"The {proxy} does not know {url.host}:{url.port} under REGISTRY_ONLY "
            "and closes the connection (BlackHoleCluster).",
        )

    def _passthrough(self) -> Outcome:
        url = self.url
        self.trace.add(
            f"{self.hop.proxy}: {url.host}:{url.port} is not in its registry → PassthroughCluster (ALLOW_ANY)"
        )
        upstream = f"{url.scheme}://{url.host}:{url.port}{url.path}"
        return Outcome(
            EXTERNAL_STATUS,
            f"ALLOW_ANY passes the unknown host through: {url.host} receives {upstream} and answers 200.",
            upstream,
        )

    def _http_listener(self, service: ServiceEntryRecord | None) -> Outcome:
        url, proxy = self.url, self.hop.proxy
        if service is None:
            if self.mesh.mode == "ALLOW_ANY":
                return self._passthrough()
            self.trace.add(
                f"{proxy}: {url.host}:{url.port} is not in its registry → virtual host block_all (direct response 502)"
            )
            return Outcome(
                BLOCK_ALL_STATUS,
                f"The {proxy} does not know {url.host}:{url.port} under REGISTRY_ONLY, so block_all answers 502.",
            )
        routes = self._mesh_routes(service.hosts, "http")
        if routes is not None:
            survived, route = self._pick(routes)
            if route is not None:
                return self._follow(route)
            if survived:
                self.trace.add(f"{proxy}: no http route matches {self.http.method} {url.host}{url.path} → 404")
                return Outcome(
                    NO_ROUTE_STATUS, f"The {proxy} has a VirtualService for {url.host} but none of its routes matches."
                )
        return self._default_route(service)

    def _tls_chain(self, service: ServiceEntryRecord) -> Outcome:
        routes = self._mesh_routes(service.hosts, "tls")
        if routes is not None:
            survived, route = self._pick(routes)
            if route is not None:
                return self._follow(route)
            if survived:
                self.trace.add(f"{self.hop.proxy}: no tls route for SNI {self.url.host} → BlackHoleCluster (UH)")
                return Outcome(
                    RESET,
                    f"No tls route of the {self.hop.proxy} matches SNI {self.url.host}, so the connection is closed.",
                )
        return self._default_route(service)

    def _tcp_chain(self, service: ServiceEntryRecord, chain: str) -> Outcome:
        self.trace.add(f"{self.hop.proxy}: {chain}")
        # NB: a TCP chain runs tcp_proxy even for plain HTTP: a failure closes, never answers 503.
        self.hop = replace(self.hop, http=False)
        routes = self._mesh_routes(service.hosts, "tcp")
        route = self._pick(routes)[1] if routes is not None else None
        if route is not None:
            return self._follow(route)
        return self._default_route(service, host=service.hosts[0])

    def _mesh_routes(self, hosts: tuple[str, ...], kind: str) -> list[RouteRecord] | None:
        """The routes of the mesh VirtualService for the request host (TCP: for the service's hosts)."""
        lookup = (self.url.host,) if kind != "tcp" else hosts
        service: VirtualServiceRecord | None = next(
            (found for host in lookup if (found := self.view.mesh_routes.get(host)) is not None), None
        )
        if service is None:
            return None
        return service.http if kind == "http" else service.tls if kind == "tls" else service.tcp

    def _pick(self, routes: list[RouteRecord]) -> tuple[bool, RouteRecord | None]:
        return pick_route(routes, MESH, self.url.port, self.workload, self.http)

    def _default_route(self, service: ServiceEntryRecord, host: str | None = None) -> Outcome:
        """No VirtualService route applies: Istio's default route, straight to the ServiceEntry."""
        host = host or matched_host(service.hosts, self.url.host)
        destination = Destination(host, None, self.url.port)
        self.trace.add(
            f"{self.hop.proxy}: default route → {cluster_name(self.url.port, None, host)} (direct, no egress gateway)"
        )
        outcome = forward(self.view, self.hop, destination, self.url.port, self.url, self.trace)
        return _prefixed(outcome, "Sent directly, bypassing the egress gateway: ")

    def _follow(self, route: RouteRecord) -> Outcome:
        proxy, destination = self.hop.proxy, route.destination
        if destination is None:
            self.trace.add(f"{proxy}: route {route.label} → direct response {route.direct_status}")
            return Outcome(
                route.direct_status or 200,
                f"The {proxy}'s route {route.label} answers {route.direct_status} directly.",
                body=route.direct_body,
            )
        if destination.host == self.mesh.gateway.identity.service_host:
            return self._to_gateway(route, destination)
        cluster = cluster_name(destination.port or self.url.port, destination.subset, destination.host)
        self.trace.add(f"{proxy}: route {route.label} → {cluster}")
        return _prefixed(
            forward(self.view, self.hop, destination, self.url.port, self.url, self.trace), "Sent directly: "
        )

    def _to_gateway(self, route: RouteRecord, destination: Destination) -> Outcome:
        gateway = self.mesh.gateway
        identity, port = gateway.identity, destination.port or self.url.port
        cluster = cluster_name(port, destination.subset, identity.service_host)
        rule = self.view.destination_rule(identity.service_host, identity.namespace)
        missing = destination.subset and (rule is None or destination.subset not in rule.subsets)
        if missing or (identity.ports is not None and port not in identity.ports):
            why = (
                f"subset {destination.subset} is not defined" if missing else f"the gateway Service has no port {port}"
            )
            self.trace.add(f"{self.hop.proxy}: route {route.label} → {cluster} does not exist ({why})")
            return self.hop.fail(f"The {self.hop.proxy} has no cluster {cluster}: {why}.")
        tls = rule.tls_for(destination.subset, port) if rule else None
        mode = tls.mode if tls else "ISTIO_MUTUAL"
        sni = (tls.sni if tls else None) or f"outbound_.{port}_.{destination.subset or ''}_.{identity.service_host}"
        transport = {"ISTIO_MUTUAL": "mtls", "DISABLE": "plain"}.get(mode, "tls")
        security = {"mtls": f"mTLS, SNI {sni}", "plain": "plaintext"}.get(transport, f"TLS {mode}, SNI {sni}")
        self.trace.add(f"{self.hop.proxy}: route {route.label} → {cluster} ({security})")
        arrival = Arrival(
            port,
            transport,
            sni if transport != "plain" else None,
            self.request.source_namespace,
            self.request.service_account,
        )
        request = HttpRequest(self.url, self.http.method, route.rewrite_headers(self.http.headers))
        outcome = gateway.receive(arrival, request, self.trace)
        if outcome.is_reset and self.hop.http:
            self.trace.add(f"{self.hop.proxy}: upstream connection to the gateway reset → 503")
            return Outcome(UPSTREAM_FAILURE_STATUS, f"{outcome.reason} The client sidecar therefore answers 503.")
        return _prefixed(outcome, "Allowed through the egress gateway: ")


def _prefixed(outcome: Outcome, prefix: str) -> Outcome:
    """Explain a 200 by the path it took; failures keep their own reason."""
    if outcome.status != EXTERNAL_STATUS:
        return outcome
    return Outcome(outcome.status, prefix + outcome.reason, outcome.upstream, outcome.body)
