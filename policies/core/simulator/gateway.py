"""The egress gateway: which server a connection lands on, authorization, then routing.

Sidecars reach the gateway over mesh mTLS with the SNI of their DestinationRule subset. The
gateway picks the server whose hosts cover that SNI (no server: the connection is closed,
which is how the ``-deny`` subsets of spec §4.4 block), evaluates the AuthorizationPolicies
selecting its pods, then routes: HTTPS servers run HTTP routing (``http`` routes), TLS servers
forward the inner bytes (``tcp`` routes).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from policies.core.gateway import HTTP_FAMILY, GatewayDescription, TranslationSettings
from policies.core.i18n import _
from policies.core.portplan import AUTO_GRPC_PORT, AUTO_HTTP_PORT, AUTO_STREAM_FIRST, AUTO_STREAM_LAST
from policies.core.simulator.authz import AuthzRequest
from policies.core.simulator.fields import fqdn
from policies.core.simulator.hosts import HostTable, any_host_matches, host_matches
from policies.core.simulator.index import Catalog, NamespaceView
from policies.core.simulator.objects import ServerRecord
from policies.core.simulator.result import RBAC_DENIED_BODY, RESET, Outcome, Text, Trace, text
from policies.core.simulator.routes import Destination, HttpRequest, VirtualServiceRecord, pick_route
from policies.core.simulator.upstream import Hop, cluster_name, forward

DEFAULT_GATEWAY_NAME = "egressgateway"
NOT_FOUND_STATUS = 404
FORBIDDEN_STATUS = 403
# Which transport each server TLS mode accepts; PASSTHROUGH would hand the sidecar's mesh mTLS
# to an external server that cannot accept it, so it fits no sidecar transport here.
_PASSTHROUGH = "unterminated app TLS (passthrough)"
_TRANSPORTS = {
    **{"ISTIO_MUTUAL": "mtls", "SIMPLE": "tls", "MUTUAL": "tls", "OPTIONAL_MUTUAL": "tls"},
    **{"PASSTHROUGH": _PASSTHROUGH, "AUTO_PASSTHROUGH": _PASSTHROUGH},
}


@dataclass(frozen=True)
class GatewayIdentity:
    """The gateway pods: namespace, labels, Service host and (when known) Service ports."""

    name: str
    namespace: str
    service_host: str
    pod_labels: dict[str, str]
    ports: frozenset[int] | None = None
    # NB: the gateway Service is visible mesh-wide: each of its HTTP ports gives every sidecar an
    # HTTP listener on 0.0.0.0:<port>, where unknown hosts get block_all's 502 (checked with Istio).
    http_ports: frozenset[int] = frozenset()

    @property
    def label(self) -> str:
        """How hops name the gateway, e.g. ``istio-system/egressgateway``."""
        return f"{self.namespace}/{self.name}"


def gateway_identity(gateway: GatewayDescription | None, settings: TranslationSettings | None) -> GatewayIdentity:
    """Resolve the gateway like the expansion does: settings first, then the description, then defaults."""
    settings = settings or TranslationSettings()
    name = gateway.name if gateway else DEFAULT_GATEWAY_NAME
    namespace = settings.gateway_namespace
    host = settings.gateway_service_host or f"{name}.{namespace}.svc.cluster.local"
    labels = settings.gateway_selector or (gateway.pod_selector if gateway else {"istio": name})
    ports = frozenset(p.number for p in gateway.ports) if gateway and gateway.ports else None
    http_ports = frozenset(p.number for p in gateway.ports if p.protocol in HTTP_FAMILY) if gateway else frozenset()
    return GatewayIdentity(name, namespace, fqdn(host.lower(), namespace), dict(labels), ports, http_ports)


@dataclass(frozen=True, slots=True)
class Arrival:
    """A connection from a sidecar: gateway port, transport (``mtls``, ``tls``, ``plain``) and SNI."""

    port: int
    transport: str
    sni: str | None
    source_namespace: str
    service_account: str


@dataclass
class _Servers:
    """Servers of one gateway port: TLS ones by SNI host, plaintext HTTP ones in order."""

    by_sni: HostTable[ServerRecord] = field(default_factory=HostTable)
    plaintext: list[ServerRecord] = field(default_factory=list)


class GatewayProxy:
    """The egress gateway's configuration, indexed once."""

    def __init__(
        self, catalog: Catalog, identity: GatewayIdentity, view: NamespaceView, *, asm_auto: bool = False
    ) -> None:
        self.identity = identity
        self.view = view
        self.proxy = text(_("gateway {name}"), name=identity.label)
        self.workload = (identity.namespace, identity.pod_labels)
        self.ports: dict[int, _Servers] = {}
        self.http_routes: dict[str, HostTable[VirtualServiceRecord]] = {}
        self.bound: dict[str, list[VirtualServiceRecord]] = {}
        self._tcp_candidates: dict[ServerRecord, list[VirtualServiceRecord]] = {}
        self._index_servers(catalog)
        if asm_auto:
            self.identity = _with_allocated_ports(identity, self.ports)
        self._index_routes(catalog)
        applying = [p for p in catalog.authorization_policies if p.applies_to(identity.namespace, identity.pod_labels)]
        self.deny = [p for p in applying if p.action == "DENY"]
        self.allow = [p for p in applying if p.action == "ALLOW"]

    def _index_servers(self, catalog: Catalog) -> None:
        labels = self.identity.pod_labels
        for gateway in catalog.gateways:
            if not all(labels.get(k) == v for k, v in gateway.selector.items()):
                continue
            for server in gateway.servers:
                servers = self.ports.setdefault(server.number, _Servers())
                if server.tls_mode is None:
                    servers.plaintext.append(server)
                for host in server.hosts if server.tls_mode else ():
                    servers.by_sni.add(host, server)

    def _index_routes(self, catalog: Catalog) -> None:
        for service in catalog.virtual_services:
            if not service.visibility.visible_to(self.identity.namespace):
                continue
            refs = {
                g for route in (*service.http, *service.tls, *service.tcp) for m in route.matches for g in m.gateways
            }
            for ref in refs | set(service.gateways):
                self.bound.setdefault(ref, []).append(service)
                table = self.http_routes.setdefault(ref, HostTable())
                for host in service.hosts:
                    table.add(host, service)

    def _hop(self, http: bool) -> Hop:
        return Hop(self.proxy, http=http, at_gateway=True, labels=tuple(sorted(self.identity.pod_labels.items())))

    def receive(self, arrival: Arrival, request: HttpRequest, trace: Trace) -> Outcome:
        """What happens to a sidecar's connection (carrying the app's request) at the gateway."""
        server = self._server_for(arrival)
        if server is None:
            sni = text(_("SNI {sni}"), sni=arrival.sni) if arrival.sni else text(_("plaintext"))
            at = {"proxy": self.proxy, "port": arrival.port, "sni": sni}
            trace.add(text(_("{proxy}: no server on port {port} for {sni} → connection closed"), **at))
            return Outcome(
                RESET, text(_("The egress gateway has no server on port {port} for {sni} and closes it."), **at)
            )
        expected = _TRANSPORTS.get(server.tls_mode or "", "plain")
        if expected != arrival.transport:
            at = {"proxy": self.proxy, "server": server.name, "expected": expected, "sent": arrival.transport}
            trace.add(text(_("{proxy}: server {server} expects {expected}, the sidecar sends {sent}"), **at))
            return Outcome(RESET, text(_("Gateway server {server} expects {expected} but gets {sent}."), **at))
        authz = self._authz_request(arrival, request, server.terminates_http)
        where = (
            text(_("{proxy}: server {server} (SNI {sni})"), proxy=self.proxy, server=server.name, sni=arrival.sni)
            if arrival.sni
            else text(_("{proxy}: server {server}"), proxy=self.proxy, server=server.name)
        )
        if server.terminates_http:
            return self._route_http(server, where, (request, authz), trace)
        return self._route_tcp(server, where, (request, authz), trace)

    def _server_for(self, arrival: Arrival) -> ServerRecord | None:
        """TLS connections pick a server by SNI; plaintext ones the port's HTTP server."""
        servers = self.ports.get(arrival.port)
        if servers is None:
            return None
        if arrival.transport == "plain":
            return next(iter(servers.plaintext), None)
        return servers.by_sni.get(arrival.sni or "")

    def _authz_request(self, arrival: Arrival, request: HttpRequest, http: bool) -> AuthzRequest:
        """What the RBAC filter knows: the peer identity only with mesh mTLS, HTTP fields only on HTTP chains."""
        mtls = arrival.transport == "mtls"
        namespace, account = arrival.source_namespace, arrival.service_account
        return AuthzRequest(
            namespace=namespace if mtls else None,
            principal=f"cluster.local/ns/{namespace}/sa/{account}" if mtls else None,
            service_account=f"{namespace}/{account}" if mtls else None,
            port=str(arrival.port),
            sni=arrival.sni,
            host=request.url.host if http else None,
            method=request.method if http else None,
            path=request.url.path.split("?", 1)[0] if http else None,
        )

    def _denial(self, request: AuthzRequest, l4: bool) -> Text | None:
        """Why authorization rejects the request, or None when it passes (DENY first, then ALLOW)."""
        for policy in self.deny:
            rule = policy.matching_rule(request, l4)
            if rule is not None:
                dropped = rule.http_only_fields() if l4 else []
                if dropped:
                    return text(
                        _(
                            "AuthorizationPolicy {policy} (DENY) matches on the TCP chain "
                            "(HTTP-only fields {fields} dropped)"
                        ),
                        policy=policy.ref,
                        fields=", ".join(dropped),
                    )
                return text(_("AuthorizationPolicy {policy} (DENY) matches"), policy=policy.ref)
        if self.allow and not any(p.matching_rule(request, l4) for p in self.allow):
            return text(
                _("no ALLOW AuthorizationPolicy matches ({policies})"), policies=", ".join(p.ref for p in self.allow)
            )
        return None

    def _route_http(
        self, server: ServerRecord, where: Text, context: tuple[HttpRequest, AuthzRequest], trace: Trace
    ) -> Outcome:
        request, authz = context
        url = request.url
        if url.is_tls:
            trace.add(text(_("{where} runs HTTP routing but receives the app's TLS"), where=where))
            return Outcome(
                RESET,
                text(_("Gateway server {server} expects HTTP inside mTLS but gets the app's TLS."), server=server.name),
            )
        denial = self._denial(authz, l4=False)
        if denial:
            trace.add(text(_("{where}: {denial} → 403"), where=where, denial=denial))
            return Outcome(
                FORBIDDEN_STATUS,
                text(_("The egress gateway rejects the request: {denial}."), denial=denial),
                body=RBAC_DENIED_BODY,
            )
        service = self.http_routes.get(server.gateway, HostTable()).get(url.host)
        route = None
        if service is not None and any_host_matches(server.hosts, url.host):
            route = pick_route(service.http, server.gateway, server.number, self.workload, request).route
        if route is None:
            trace.add(text(_("{where}: no route for Host {host} → 404"), where=where, host=url.host))
            return Outcome(
                NOT_FOUND_STATUS,
                text(
                    _("The egress gateway has no route for {host} on port {port}."), host=url.host, port=server.number
                ),
            )
        if route.destination is None:
            trace.add(
                text(
                    _("{where} → route {route} → direct response {status}"),
                    where=where,
                    route=route.label,
                    status=route.direct_status,
                )
            )
            return Outcome(
                route.direct_status or 200,
                text(_("Gateway route {route} answers directly."), route=route.label),
                body=route.direct_body,
            )
        trace.add(_routed(where, route.label, _cluster(route.destination, server.number)))
        return forward(self.view, self._hop(http=True), route.destination, server.number, url, trace)

    def _route_tcp(
        self, server: ServerRecord, where: Text, context: tuple[HttpRequest, AuthzRequest], trace: Trace
    ) -> Outcome:
        request, authz = context
        denial = self._denial(authz, l4=True)
        if denial:
            trace.add(text(_("{where}: {denial} → connection closed"), where=where, denial=denial))
            return Outcome(RESET, text(_("The egress gateway closes the connection: {denial}."), denial=denial))
        route = next(
            (
                found
                for service in self._tcp_services(server)
                if (found := pick_route(service.tcp, server.gateway, server.number, self.workload, request).route)
            ),
            None,
        )
        if route is None or route.destination is None:
            trace.add(
                text(_("{where}: no tcp route for port {port} → connection closed"), where=where, port=server.number)
            )
            return Outcome(
                RESET,
                text(_("The egress gateway has no tcp route for server {server} and closes it."), server=server.name),
            )
        trace.add(_routed(where, route.label, _cluster(route.destination, server.number)))
        hop = self._hop(http=False)
        return forward(self.view, hop, route.destination, server.number, request.url, trace)

    def _tcp_services(self, server: ServerRecord) -> list[VirtualServiceRecord]:
        """VirtualServices bound to the server's Gateway whose hosts overlap the server's hosts."""
        if server not in self._tcp_candidates:
            self._tcp_candidates[server] = [
                service
                for service in self.bound.get(server.gateway, [])
                if any(host_matches(a, b) or host_matches(b, a) for a in service.hosts for b in server.hosts)
            ]
        return self._tcp_candidates[server]


def is_auto_allocated(port: int) -> bool:
    """A port ASM's asmAuto default allocates (HTTP 10000, gRPC 50051, TCP/TLS 10001-20000)."""
    return port in (AUTO_HTTP_PORT, AUTO_GRPC_PORT) or AUTO_STREAM_FIRST <= port <= AUTO_STREAM_LAST


def _with_allocated_ports(identity: GatewayIdentity, server_ports: dict[int, _Servers]) -> GatewayIdentity:
    """Under asmAuto, ASM adds each port it allocated to the gateway Service (as validation V17 says).

    The allocated ports are the auto-range ports the gateway's servers listen on: the expansion
    opens a server on exactly the port the plan (policies.core.portplan) gave each entry.
    """
    if identity.ports is None:
        return identity
    allocated = {port for port in server_ports if is_auto_allocated(port)}
    http = allocated & {AUTO_HTTP_PORT, AUTO_GRPC_PORT}
    return replace(identity, ports=identity.ports | allocated, http_ports=identity.http_ports | http)


def _routed(where: Text, route: str, cluster: str) -> Text:
    return text(_("{where} → route {route} → {cluster}"), where=where, route=route, cluster=cluster)


def _cluster(destination: Destination, port: int) -> str:
    return cluster_name(destination.port or port, destination.subset, destination.host)
