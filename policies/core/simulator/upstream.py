"""The last hop: a proxy's cluster for an external host, its endpoint and its TLS.

This is where ``httpsUpgrade`` shows: a ServiceEntry port with ``targetPort`` plus a SIMPLE
DestinationRule visible to the proxy turns plain HTTP into HTTPS on the target port. It is also
where app-originated TLS meets the wrong server (spec §5 S4-3): the external server's
certificate is assumed to cover the hosts of its ServiceEntry (ASM requires an entry's hosts to
resolve alike), so TLS for any other name fails at the client, which gets no HTTP response.
"""

from __future__ import annotations

from dataclasses import dataclass

from policies.core.i18n import _
from policies.core.simulator.hosts import any_host_matches, host_matches
from policies.core.simulator.index import NamespaceView
from policies.core.simulator.objects import ServiceEntryRecord, ServicePort, TlsSettings
from policies.core.simulator.request import ParsedUrl
from policies.core.simulator.result import EXTERNAL_STATUS, RESET, Outcome, Text, Trace, text
from policies.core.simulator.routes import Destination

UPSTREAM_FAILURE_STATUS = 503


@dataclass(frozen=True, slots=True)
class Hop:
    """Who forwards: ``proxy`` names it in hops; ``http`` says whether it runs the HTTP connection manager."""

    proxy: Text
    http: bool
    at_gateway: bool = False
    labels: tuple[tuple[str, str], ...] = ()  # the proxy's workload labels (workload-scoped rules)

    def fail(self, reason: Text) -> Outcome:
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
            text(
                _("{proxy}: cluster {cluster} does not exist (no such host and port in the registry of {namespace})"),
                proxy=hop.proxy,
                cluster=cluster,
                namespace=view.namespace,
            )
        )
        return hop.fail(
            text(
                _("{proxy} has no cluster {cluster}, so the request cannot be forwarded."),
                proxy=hop.proxy,
                cluster=cluster,
            )
        )
    rule = view.destination_rule(destination.host, service.namespace, dict(hop.labels))
    if destination.subset and (rule is None or destination.subset not in rule.subsets):
        subset = {"proxy": hop.proxy, "cluster": cluster, "subset": destination.subset}
        trace.add(
            text(_("{proxy}: cluster {cluster} does not exist (no DestinationRule defines subset {subset})"), **subset)
        )
        return hop.fail(text(_("{proxy} has no cluster {cluster}: subset {subset} is not defined."), **subset))
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
        trace.add(
            text(
                _("{proxy}: upstream {cluster} has resolution NONE → original destination is the gateway itself"),
                proxy=hop.proxy,
                cluster=cluster,
            )
        )
        return hop.fail(
            text(_("The gateway forwards a resolution-NONE host to the original destination, itself, and loops."))
        )
    if service.resolution == "NONE":
        address, number = url.host, url.port
    else:
        address, number = service.endpoint(host, port)
    via: Text | str = f"{address}:{number}"
    if number != port.number:
        via = text(_("{endpoint} via targetPort"), endpoint=via)
    mode = tls.mode if tls else "DISABLE"
    at = {"proxy": hop.proxy, "cluster": cluster, "via": via, "address": address, "mode": mode}
    if mode == "ISTIO_MUTUAL":
        trace.add(text(_("{proxy}: upstream {cluster} → {via}, mesh mTLS to an external server"), **at))
        return hop.fail(text(_("{proxy} speaks mesh mTLS to {address}, which has no mesh certificate."), **at))
    if url.is_tls and mode != "DISABLE":
        trace.add(text(_("{proxy}: upstream {cluster} → {via}, TLS ({mode}) originated on top of the app's TLS"), **at))
        return hop.fail(
            text(_("{proxy} wraps the app's TLS in a second TLS layer, which {address} cannot read."), **at)
        )
    originated = mode != "DISABLE"
    sni = (tls.sni if tls else None) or (url.host if (url.is_tls or hop.http) else address)
    at.update(sni=sni, host=url.host, endpoint=f"{address}:{number}")
    if originated:
        trace.add(text(_("{proxy}: upstream {cluster} → {via}, TLS originated ({mode}, SNI {sni})"), **at))
    elif url.is_tls:
        trace.add(text(_("{proxy}: upstream {cluster} → {via}, app TLS passed through (SNI {sni})"), **at))
    else:
        trace.add(text(_("{proxy}: upstream {cluster} → {via}, plain HTTP (Host {host})"), **at))
    if (originated or url.is_tls) and not any_host_matches(service.hosts, sni):
        trace.add(
            text(_("external {endpoint}: certificate does not cover {sni} → client aborts the TLS handshake"), **at)
        )
        if originated:
            return hop.fail(
                text(
                    _(
                        "TLS for {sni} reaches {endpoint}, whose certificate does not cover {sni}; "
                        "the proxy's handshake fails."
                    ),
                    **at,
                )
            )
        return Outcome(
            RESET,
            text(
                _(
                    "TLS for {sni} reaches {endpoint}, whose certificate does not cover {sni}, so the client aborts "
                    "the handshake (curl exit 60) and gets no HTTP response."
                ),
                **at,
            ),
        )
    if not (originated or url.is_tls) and not any_host_matches(service.hosts, url.host):
        trace.add(text(_("external {endpoint}: receives a request for Host {host}, not one of its hosts"), **at))
    scheme = "https" if originated or url.is_tls else "http"
    upstream = f"{scheme}://{url.host}:{number}{url.path}"
    return Outcome(
        EXTERNAL_STATUS,
        text(
            _("{address} receives {upstream} and answers {status}."),
            address=address,
            upstream=upstream,
            status=EXTERNAL_STATUS,
        ),
        upstream,
    )
