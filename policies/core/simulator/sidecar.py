"""The client's sidecar: which listener takes the request, which route, which cluster.

The order of checks mirrors Envoy's outbound listeners as Istio builds them (spec §3(e), §5):
a TCP ServiceEntry with addresses claims its hosts; plain HTTP goes to the port's HTTP listener
(every namespace has one on port 80, §5 model); TLS is matched by SNI; a TCP ServiceEntry port
without addresses takes whatever is left on that port. Unknown destinations end in ``block_all``
(502) or ``BlackHoleCluster`` (reset) under REGISTRY_ONLY, in ``PassthroughCluster`` under
ALLOW_ANY.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from policies.core.i18n import _
from policies.core.simulator.gateway import Arrival
from policies.core.simulator.index import NamespaceView
from policies.core.simulator.objects import ServiceEntryRecord
from policies.core.simulator.request import ParsedUrl, Request, workload_name
from policies.core.simulator.result import EXTERNAL_STATUS, RESET, Outcome, Text, Trace, text
from policies.core.simulator.routes import (
    MESH,
    Destination,
    HttpRequest,
    RoutePick,
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


@dataclass(frozen=True, slots=True)
class SidecarClient:
    """What a walk needs to know of the client workload, the same for every request it sends."""

    view: NamespaceView
    mode: str
    http_hop: Hop
    tls_hop: Hop

    @classmethod
    def of(cls, mesh: Mesh, namespace: str, labels: dict[str, str]) -> SidecarClient:
        """The client sidecar of the workload ``namespace`` + ``labels`` in ``mesh``."""
        view = mesh.sidecar_view(namespace, labels)
        scope = view.scope
        mode = scope.outbound_mode if scope is not None and scope.outbound_mode else mesh.mode
        proxy = text(_("sidecar {workload}"), workload=workload_name(namespace, labels))
        hop = Hop(proxy, http=True, labels=tuple(sorted(labels.items())))
        return cls(view, mode, hop, replace(hop, http=False))


class SidecarWalk:
    """One request's way through its client sidecar (and on to the gateway or the external host)."""

    __slots__ = ("hop", "http", "mesh", "mode", "request", "trace", "url", "view", "workload")

    def __init__(
        self, mesh: Mesh, client: SidecarClient, request: Request, url: ParsedUrl, method: str, trace: Trace
    ) -> None:
        self.mesh, self.request, self.url, self.trace = mesh, request, url, trace
        self.http = HttpRequest(url, method, {})
        self.workload = (request.source_namespace, request.source_labels)
        self.view, self.mode = client.view, client.mode
        self.hop = client.tls_hop if url.is_tls else client.http_hop

    def run(self) -> Outcome:
        """Pick the listener/filter chain the request lands on and follow it."""
        return self.follow(self.landing())

    def follow(self, landing: Callable[[], Outcome] | None) -> Outcome:
        """Follow what ``landing`` returned (None: the sidecar does not know the destination)."""
        return landing() if landing is not None else self._unknown()

    def landing(self) -> Callable[[], Outcome] | None:
        """The listener or filter chain the request lands on, to follow; None when there is none.

        With none, the outcome depends only on the outbound mode and the URL (``_unknown``).
        """
        url, view = self.url, self.view
        addressed = view.tcp_addressed.get((url.port, url.host))
        if addressed is not None:
            chain = text(_("TCP chain of ServiceEntry {entry} (addresses)"), entry=addressed.ref)
            return lambda: self._tcp_chain(addressed, chain)
        if not url.is_tls:
            table = view.http.get(url.port)
            if table is not None or self._http_listener_on(url.port):
                return lambda: self._http_listener(table.get(url.host) if table is not None else None)
        else:
            table = view.sni.get(url.port)
            service = table.get(url.host) if table is not None else None
            if service is not None:
                return lambda: self._tls_chain(service)
        wildcard = view.tcp_wildcard.get(url.port)
        if wildcard is not None:
            return lambda: self._tcp_chain(wildcard, self._wildcard_chain(wildcard))
        return None

    def _wildcard_chain(self, entry: ServiceEntryRecord) -> Text:
        port = self.url.port
        claims = self.view.tcp_wildcard_claims[port]
        if claims == 1:
            return text(
                _("TCP chain 0.0.0.0:{port} of ServiceEntry {entry} (no addresses)"), port=port, entry=entry.ref
            )
        return text(
            _(
                "TCP chain 0.0.0.0:{port} of ServiceEntry {entry} (no addresses): {claims} ServiceEntries claim "
                "this port and Istio keeps the first by creation time, then host name; objects without "
                "creationTimestamp are taken as applied together"
            ),
            port=port,
            entry=entry.ref,
            claims=claims,
        )

    def _http_listener_on(self, port: int) -> bool:
        """Port 80 (the §5 model: every namespace runs an HTTP service ``web`` there) or an HTTP port
        of the gateway Service, as far as the proxy's Sidecar (if any) imports those services."""
        view, identity = self.view, self.mesh.gateway.identity
        namespace = view.namespace
        if port in HTTP_LISTENER_PORTS and (
            view.imports(namespace, f"web.{namespace}.svc.cluster.local")
            or view.imports("default", "web.default.svc.cluster.local")
        ):
            return True
        return port in identity.http_ports and view.imports(identity.namespace, identity.service_host)

    def _unknown(self) -> Outcome:
        url, proxy = self.url, self.hop.proxy
        if self.mode == "ALLOW_ANY":
            return self._passthrough()
        at = {"proxy": proxy, "host": url.host, "port": url.port}
        if url.is_tls:
            self.trace.add(
                text(_("{proxy}: no filter chain for SNI {host} on port {port} → BlackHoleCluster (UH)"), **at)
            )
        else:
            self.trace.add(text(_("{proxy}: no HTTP listener for {host}:{port} → BlackHoleCluster (UH)"), **at))
        return Outcome(
            RESET,
            text(
                _(
                    "The {proxy} does not know {host}:{port} under REGISTRY_ONLY "
                    "and closes the connection (BlackHoleCluster)."
                ),
                **at,
            ),
        )

    def _passthrough(self) -> Outcome:
        url = self.url
        upstream = f"{url.scheme}://{url.host}:{url.port}{url.path}"
        at = {"proxy": self.hop.proxy, "host": url.host, "port": url.port, "upstream": upstream}
        self.trace.add(text(_("{proxy}: {host}:{port} is not in its registry → PassthroughCluster (ALLOW_ANY)"), **at))
        return Outcome(
            EXTERNAL_STATUS,
            text(_("ALLOW_ANY passes the unknown host through: {host} receives {upstream} and answers 200."), **at),
            upstream,
        )

    def _http_listener(self, service: ServiceEntryRecord | None) -> Outcome:
        url, proxy = self.url, self.hop.proxy
        if service is None:
            # NB: a mesh VirtualService's host gets a virtual host even without a service in the
            # registry (pilot's separateVSHostsAndServices: "hosts outside of the service registry").
            routes = self._mesh_routes((), "http")
            pick = self._pick(routes) if routes is not None else None
            if pick is not None and pick.route is not None:
                return self._follow(pick.route)
            if self.mode == "ALLOW_ANY":
                return self._passthrough()
            at = {"proxy": proxy, "host": url.host, "port": url.port}
            self.trace.add(
                text(
                    _("{proxy}: {host}:{port} is not in its registry → virtual host block_all (direct response 502)"),
                    **at,
                )
            )
            return Outcome(
                BLOCK_ALL_STATUS,
                text(_("The {proxy} does not know {host}:{port} under REGISTRY_ONLY, so block_all answers 502."), **at),
            )
        routes = self._mesh_routes(service.hosts, "http")
        if routes is not None:
            pick = self._pick(routes)
            if pick.route is not None:
                return self._follow(pick.route)
            if pick.survived:
                at = {"proxy": proxy, "method": self.http.method, "host": url.host, "path": url.path}
                self.trace.add(text(_("{proxy}: no http route matches {method} {host}{path} → 404"), **at))
                return Outcome(
                    NO_ROUTE_STATUS,
                    text(_("The {proxy} has a VirtualService for {host} but none of its routes matches."), **at),
                )
        return self._default_route(service)

    def _tls_chain(self, service: ServiceEntryRecord) -> Outcome:
        routes = self._mesh_routes(service.hosts, "tls")
        if routes is not None:
            pick = self._pick(routes)
            if pick.route is not None:
                return self._follow(pick.route)
            if pick.survived:
                at = {"proxy": self.hop.proxy, "host": self.url.host}
                self.trace.add(text(_("{proxy}: no tls route for SNI {host} → BlackHoleCluster (UH)"), **at))
                return Outcome(
                    RESET, text(_("No tls route of the {proxy} matches SNI {host}, so the connection is closed."), **at)
                )
        return self._default_route(service)

    def _tcp_chain(self, service: ServiceEntryRecord, chain: Text) -> Outcome:
        self.trace.add(text(_("{proxy}: {chain}"), proxy=self.hop.proxy, chain=chain))
        # NB: a TCP chain runs tcp_proxy even for plain HTTP: a failure closes, never answers 503.
        self.hop = replace(self.hop, http=False)
        routes = self._mesh_routes(service.hosts, "tcp")
        route = self._pick(routes).route if routes is not None else None
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

    def _pick(self, routes: list[RouteRecord]) -> RoutePick:
        pick = pick_route(routes, MESH, self.url.port, self.workload, self.http)
        if pick.match is not None and pick.route is not None and pick.match.overrides_sources(*self.workload):
            self.trace.add(
                text(
                    _(
                        "{proxy}: route {route} applies although its sourceNamespace/sourceLabels do not select "
                        "this workload: the match lists gateways, so Istio ignores its source fields"
                    ),
                    proxy=self.hop.proxy,
                    route=pick.route.label,
                )
            )
        return pick

    def _default_route(self, service: ServiceEntryRecord, host: str | None = None) -> Outcome:
        """No VirtualService route applies: Istio's default route, straight to the ServiceEntry."""
        host = host or matched_host(service.hosts, self.url.host)
        destination = Destination(host, None, self.url.port)
        cluster = cluster_name(self.url.port, None, host)
        self.trace.add(
            text(
                _("{proxy}: default route → {cluster} (direct, no egress gateway)"),
                proxy=self.hop.proxy,
                cluster=cluster,
            )
        )
        outcome = forward(self.view, self.hop, destination, self.url.port, self.url, self.trace)
        return _prefixed(outcome, _("Sent directly, bypassing the egress gateway: {reason}"))

    def _follow(self, route: RouteRecord) -> Outcome:
        proxy, destination = self.hop.proxy, route.destination
        if destination is None:
            at = {"proxy": proxy, "route": route.label, "status": route.direct_status}
            self.trace.add(text(_("{proxy}: route {route} → direct response {status}"), **at))
            return Outcome(
                route.direct_status or 200,
                text(_("The {proxy}'s route {route} answers {status} directly."), **at),
                body=route.direct_body,
            )
        if destination.host == self.mesh.gateway.identity.service_host:
            return self._to_gateway(route, destination)
        cluster = cluster_name(destination.port or self.url.port, destination.subset, destination.host)
        self.trace.add(text(_("{proxy}: route {route} → {cluster}"), proxy=proxy, route=route.label, cluster=cluster))
        return _prefixed(
            forward(self.view, self.hop, destination, self.url.port, self.url, self.trace), _("Sent directly: {reason}")
        )

    def _to_gateway(self, route: RouteRecord, destination: Destination) -> Outcome:
        gateway = self.mesh.gateway
        identity, port = gateway.identity, destination.port or self.url.port
        cluster = cluster_name(port, destination.subset, identity.service_host)
        rule = self.view.destination_rule(identity.service_host, identity.namespace, dict(self.hop.labels))
        missing = destination.subset and (rule is None or destination.subset not in rule.subsets)
        if missing or (identity.ports is not None and port not in identity.ports):
            if missing:
                why = text(_("subset {subset} is not defined"), subset=destination.subset)
            else:
                why = text(_("the gateway Service has no port {port}"), port=port)
            at = {"proxy": self.hop.proxy, "route": route.label, "cluster": cluster, "why": why}
            self.trace.add(text(_("{proxy}: route {route} → {cluster} does not exist ({why})"), **at))
            return self.hop.fail(text(_("The {proxy} has no cluster {cluster}: {why}."), **at))
        tls = rule.tls_for(destination.subset, port) if rule else None
        mode = tls.mode if tls else "ISTIO_MUTUAL"
        sni = (tls.sni if tls else None) or f"outbound_.{port}_.{destination.subset or ''}_.{identity.service_host}"
        transport = {"ISTIO_MUTUAL": "mtls", "DISABLE": "plain"}.get(mode, "tls")
        security = {
            "mtls": text(_("mTLS, SNI {sni}"), sni=sni),
            "plain": text(_("plaintext")),
        }.get(transport, text(_("TLS {mode}, SNI {sni}"), mode=mode, sni=sni))
        self.trace.add(
            text(
                _("{proxy}: route {route} → {cluster} ({security})"),
                proxy=self.hop.proxy,
                route=route.label,
                cluster=cluster,
                security=security,
            )
        )
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
            self.trace.add(text(_("{proxy}: upstream connection to the gateway reset → 503"), proxy=self.hop.proxy))
            return Outcome(
                UPSTREAM_FAILURE_STATUS,
                text(_("{reason} The client sidecar therefore answers 503."), reason=outcome.reason),
            )
        return _prefixed(outcome, _("Allowed through the egress gateway: {reason}"))


def _prefixed(outcome: Outcome, template: str) -> Outcome:
    """Explain a 200 by the path it took (``template`` wraps the ``{reason}``); failures keep their own reason."""
    if outcome.status != EXTERNAL_STATUS:
        return outcome
    return Outcome(outcome.status, text(template, reason=outcome.reason), outcome.upstream, outcome.body)
