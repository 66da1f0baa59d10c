"""The last hop: a proxy's cluster for an external host, its endpoint and its TLS.

This is where ``httpsUpgrade`` shows: a ServiceEntry port with ``targetPort`` plus a SIMPLE
DestinationRule visible to the proxy turns plain HTTP into HTTPS on the target port. It is also
where app-originated TLS meets the wrong server (spec §5 S4-3): the external server's
certificate is assumed to cover the hosts of its ServiceEntry (ASM requires an entry's hosts to
resolve alike), so TLS for any other name fails at the client, which gets no HTTP response.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.core.simulator.hosts import any_host_matches, host_matches
from policies.core.simulator.index import NamespaceView
from policies.core.simulator.objects import ServiceEntryRecord, ServicePort, TlsSettings
from policies.core.simulator.request import ParsedUrl
from policies.core.simulator.result import EXTERNAL_STATUS, RESET, Outcome, Trace
from policies.core.simulator.routes import Destination

UPSTREAM_FAILURE_STATUS = 503


@dataclass(frozen=True, slots=True)
class Hop:
    """Who forwards: ``proxy`` names it in hops; ``http`` says whether it runs the HTTP connection manager."""

    proxy: str
    http: bool
    at_gateway: bool = False

    def fail(self, reason: str) -> Outcome:
        """A failed upstream: HTTP proxies answer 503, TCP proxies close the client connection."""
        return Outcome(UPSTREAM_FAILURE_STATUS if self.http else RESET, reason)


def matched_host(hosts: tuple[str, ...], host: str) -> str:
    """The service host a request host resolves to: itself, or the wildcard covering it."""
    if host in hosts:
        return host
    return next((pattern for pattern in hosts if host_matches(pattern, host)), host)


def cluster_name(port: int, subset: str | None, host: str) -> str:
    """Envoy's outbound cluster name, e.g. ``outbound|80|httpbin-service-http|egressgateway...``."""
    return f"outbound|{port}|{subset or ''}|{host}"


def resolve_port(service: ServiceEntryRecord, destination: Destination, listener_port: int) -> ServicePort | None:
    """The service port a destination means: explicit, the only one, or the listener's port."""
    if destination.port is not None:
        return service.ports.get(destination.port)
    if len(service.ports) == 1:
        return next(iter(service.ports.values()))
    return service.ports.get(listener_port)


def forward(
    view: NamespaceView, hop: Hop, destination: Destination, listener_port: int, url: ParsedUrl, trace: Trace
) -> Outcome:
    """Send the request from ``hop``'s proxy to an external host and report what it answers."""
    service = view.services.get(destination.host)
    port = resolve_port(service, destination, listener_port) if service else None
    number = port.number if port else destination.port or listener_port
    cluster = cluster_name(number, destination.subset, destination.host)
    if service is None or port is None:
        trace.add(
            f"{hop.proxy}: cluster {cluster} does not exist (no such host and port in the registry of {view.namespace})"
        )
        return hop.fail(f"{hop.proxy} has no cluster {cluster}, so the request cannot be forwarded.")
    rule = view.destination_rule(destination.host, service.namespace)
    if destination.subset and (rule is None or destination.subset not in rule.subsets):
        trace.add(
            f"{hop.proxy}: cluster {cluster} does not exist (no DestinationRule defines subset {destination.subset})"
        )
        return hop.fail(f"{hop.proxy} has no cluster {cluster}: subset {destination.subset} is not defined.")
    tls = rule.tls_for(destination.subset, number) if rule else None
    return _connect(service, port, tls, (hop, cluster, url, destination.host), trace)


def _connect(
    service: ServiceEntryRecord,
    port: ServicePort,
    tls: TlsSettings | None,
    context: tuple[Hop, str, ParsedUrl, str],
    trace: Trace,
) -> Outcome:
    hop, cluster, url, host = context
    if service.resolution == "NONE" and hop.at_gateway:
        trace.add(f"{hop.proxy}: upstream {cluster} has resolution NONE → original destination is the gateway itself")
        return hop.fail("The gateway forwards a resolution-NONE host to the original destination, itself, and loops.")
    if service.resolution == "NONE":
        address, number = url.host, url.port
    else:
        address, number = service.endpoint(host, port)
    via = f"{address}:{number}" + (" via targetPort" if number != port.number else "")
    mode = tls.mode if tls else "DISABLE"
    if mode == "ISTIO_MUTUAL":
        trace.add(f"{hop.proxy}: upstream {cluster} → {via}, mesh mTLS to an external server")
        return hop.fail(f"{hop.proxy} speaks mesh mTLS to {address}, which has no mesh certificate.")
    if url.is_tls and mode != "DISABLE":
        trace.add(f"{hop.proxy}: upstream {cluster} → {via}, TLS ({mode}) originated on top of the app's TLS")
        return hop.fail(f"{hop.proxy} wraps the app's TLS in a second TLS layer, which {address} cannot read.")
    originated = mode != "DISABLE"
    sni = (tls.sni if tls else None) or (url.host if (url.is_tls or hop.http) else address)
    if originated:
        trace.add(f"{hop.proxy}: upstream {cluster} → {via}, TLS originated ({mode}, SNI {sni})")
    elif url.is_tls:
        trace.add(f"{hop.proxy}: upstream {cluster} → {via}, app TLS passed through (SNI {sni})")
    else:
        trace.add(f"{hop.proxy}: upstream {cluster} → {via}, plain HTTP (Host {url.host})")
    if (originated or url.is_tls) and not any_host_matches(service.hosts, sni):
        trace.add(f"external {address}:{number}: certificate does not cover {sni} → client aborts the TLS handshake")
        reason = f"TLS for {sni} reaches {address}:{number}, whose certificate does not cover {sni}"
        if originated:
            return hop.fail(f"{reason}; the proxy's handshake fails.")
        return Outcome(RESET, f"{reason}, so the client aborts the handshake (curl exit 60) and gets no HTTP response.")
    if not (originated or url.is_tls) and not any_host_matches(service.hosts, url.host):
        trace.add(f"external {address}:{number}: receives a request for Host {url.host}, not one of its hosts")
    scheme = "https" if originated or url.is_tls else "http"
    upstream = f"{scheme}://{url.host}:{number}{url.path}"
    return Outcome(EXTERNAL_STATUS, f"{address} receives {upstream} and answers {EXTERNAL_STATUS}.", upstream)
