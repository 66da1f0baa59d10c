"""Access-log entries turned into flows: who called which external host, how, and what happened.

A flow is the aggregate of every line from one source workload to one destination (host, port,
protocol as the sidecar saw it): how many lines, first and last seen, the outcomes (``200``,
``502``, ``reset``, ``connected`` ...) and the upstream clusters that took them. Memory grows
with the number of distinct flows (capped by ``max_flows``), never with the number of lines.

How a line is read (Istio's sidecar, outbound):

- destination: the ``:authority`` for HTTP, the SNI for TLS, the original destination IP for
  plain TCP; the port from the authority, else the original destination address;
- cluster: ``PassthroughCluster`` (ALLOW_ANY let an unknown host through), ``BlackHoleCluster``
  or route ``block_all`` (REGISTRY_ONLY refused it), ``outbound|P|S|<egress gateway>`` (sent to
  the egress gateway), ``outbound|P||<external ServiceEntry host>`` (sent directly), a
  ``*.svc.cluster.local`` service or an inbound cluster (mesh-internal: set aside, only counted);
  lines a gateway's own proxy logged (its pod carries ``istio: …gateway``) are set aside too;
- reached: whether the external side received the request (failure flags such as ``UH``,
  ``UF``, ``URX``, ``NR``, a local reply, or the gateway's 403 mean it did not).

Usage::

    aggregator = FlowAggregator(SourceResolver(pods, fallback), gateway_hosts=[gateway.service_host])
    with open(path, "rb") as handle:
        for refusal in aggregator.feed(handle):
            report(refusal)                  # every refused line, in order, with its number
    flows, summary = aggregator.flows(), aggregator.summary
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any, Literal, TypeVar

from policies.core.discovery.accesslog import (
    TEXT_FAST,
    AccessLogEntry,
    RefusedLine,
    numbered_lines,
    read_line,
    refused,
)
from policies.core.discovery.jsonformat import FastLayout, fast_layouts, layout_count
from policies.core.discovery.sources import SourceResolver, Workload
from policies.core.i18n import _

FlowProtocol = Literal["HTTP", "HTTP2", "TLS", "TCP"]
ClusterKind = Literal[
    "passthrough", "blackhole", "block_all", "egress_gateway", "service_entry", "mesh", "inbound", "none"
]
NO_DESTINATION = "EGRESS-LOG07"
TOO_MANY_FLOWS = "EGRESS-LOG11"
MAX_FLOWS = 250_000
MAX_CLUSTERS_PER_FLOW = 16
MESH_INTERNAL_KINDS = frozenset({"mesh", "inbound"})
# Response flags of a request the proxy ended before any upstream took it (Envoy's access-log docs:
# no healthy upstream, connect failure, circuit breaker, no route or cluster, injected abort, rate
# limits, external authorization, invalid headers, downstream protocol error, overload, failed
# local health check, DNS failure, no filter config). Flags that can follow a response (UT, UC,
# UPE, SI, DI ...) are not among them: the server may well have received the request.
LOCAL_FAILURE_FLAGS = frozenset(
    {"UH", "UF", "UO", "NR", "URX", "NC", "FI", "RL", "UAEX", "RLSE", "IH", "DPE", "OM", "LH", "DF", "NFCF"}
)
CLUSTER_LOCAL = (".svc.cluster.local", ".svc")
from_iso = datetime.fromisoformat  # NB: what entry.is_instant calls, without a call around it on the fast path.
_IPV4 = re.compile(r"(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}\Z")


@dataclass(frozen=True, slots=True, order=True)
class FlowKey:
    """What makes two lines the same flow: source workload, destination host, port and protocol."""

    source: Workload
    host: str
    port: int
    protocol: FlowProtocol


@dataclass(slots=True)
class Flow:
    """Every line of one flow, aggregated.

    Attributes:
        key: Source, host, port, protocol.
        count: Number of lines.
        first_seen: Earliest ``start_time`` (ISO 8601, UTC).
        last_seen: Latest ``start_time``.
        outcomes: Lines per outcome: an HTTP status (``"200"``, ``"502"``), ``"reset"`` (a
            connection the proxy closed) or ``"connected"`` (a TCP/TLS stream that went through).
        clusters: Lines per upstream cluster name (``PassthroughCluster``, ``outbound|443||host`` ...;
            ``-`` for a local reply), at most ``MAX_CLUSTERS_PER_FLOW`` names.
        cluster_kinds: Lines per kind of cluster (``passthrough``, ``block_all``, ``egress_gateway`` ...).
        reached: Lines whose request reached the external side.
    """

    key: FlowKey
    count: int = 0
    first_seen: str = ""
    last_seen: str = ""
    outcomes: dict[str, int] = field(default_factory=dict)
    clusters: dict[str, int] = field(default_factory=dict)
    cluster_kinds: dict[str, int] = field(default_factory=dict)
    reached: int = 0

    @property
    def allowed_today(self) -> bool:
        """Observation says the destination is reachable: at least one line reached it."""
        return self.reached > 0

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: source, host, port, protocol, count, firstSeen, lastSeen, outcomes,
        clusters, clusterKinds, reached, allowedToday."""
        key = self.key
        return {
            "source": key.source.as_dict(),
            "host": key.host,
            "port": key.port,
            "protocol": key.protocol,
            "count": self.count,
            "firstSeen": self.first_seen,
            "lastSeen": self.last_seen,
            "outcomes": dict(self.outcomes),
            "clusters": dict(self.clusters),
            "clusterKinds": dict(self.cluster_kinds),
            "reached": self.reached,
            "allowedToday": self.allowed_today,
        }


@dataclass(slots=True)
class IngestSummary:
    """What happened to every line read (nothing is dropped without being counted here).

    Attributes:
        lines: Non-blank lines read.
        entries: Lines in Istio's default TEXT or JSON format (``formats`` splits them).
        formats: Entries per encoding (``text``, ``json``).
        refused: Lines refused, per code.
        mesh_internal: Entries about mesh-internal traffic (set aside).
        gateway_own: Entries logged by a gateway's own proxy (set aside: the gateway is not a source).
        flows: Distinct external flows.
        over_limit: Entries of new flows not kept because ``max_flows`` was reached (also refused).
    """

    lines: int = 0
    entries: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    refused: dict[str, int] = field(default_factory=dict)
    mesh_internal: int = 0
    gateway_own: int = 0
    flows: int = 0
    over_limit: int = 0

    @property
    def refused_total(self) -> int:
        """Lines refused, all codes together."""
        return sum(self.refused.values())

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: lines, entries, formats, refused, refusedTotal, meshInternal, gatewayOwn, flows, overLimit."""
        return {
            "lines": self.lines,
            "entries": self.entries,
            "formats": dict(self.formats),
            "refused": dict(self.refused),
            "refusedTotal": self.refused_total,
            "meshInternal": self.mesh_internal,
            "gatewayOwn": self.gateway_own,
            "flows": self.flows,
            "overLimit": self.over_limit,
        }


class FlowAggregator:
    """Reads access logs into flows; memory is bounded by the number of distinct flows."""

    def __init__(
        self, resolver: SourceResolver, *, max_flows: int = MAX_FLOWS, gateway_hosts: Collection[str] = ()
    ) -> None:
        """
        Args:
            resolver: Maps each line's pod to its source workload.
            max_flows: Distinct flows kept; entries of further new flows are refused (``EGRESS-LOG11``).
            gateway_hosts: Service hosts of the egress gateways (``GatewayDescription.service_host``),
                for gateways whose name does not contain ``egressgateway``.
        """
        self.resolver = resolver
        self.max_flows = max_flows
        self.gateway_hosts = frozenset(gateway_hosts)
        self.summary = IngestSummary()
        self._flows: dict[tuple[int, str, int, str], Flow] = {}
        self._sources: dict[str | None, Workload] = {}
        self._workloads: dict[Workload, Workload] = {}
        self._kinds: dict[tuple[str | None, str | None], ClusterKind] = {}
        # NB: memoised per distinct input (a few thousand in a day of logs), bounded by _remember.
        self._destinations: dict[tuple[str | None, ...], tuple[str, int, FlowProtocol] | None] = {}
        self._verdicts: dict[tuple[Any, ...], tuple[str, bool]] = {}

    def feed(self, stream: IO[bytes] | Iterable[bytes], first_line: int = 1) -> Iterator[RefusedLine]:
        """Read every line of ``stream``; yields each refused line, in order, as it is met.

        The generator must be run to the end for the whole stream to be read (the counts of
        the fast path below are folded into the flows and the summary when it ends).

        NB: most lines of a log repeat a few thousand *signatures* (source, destination,
        outcome, cluster: everything a flow is built from but the time). The first line of a
        signature goes the general way (``read_line`` then ``add``) and its placement is kept;
        the next ones only match a whole-line pattern, check their start time and count, which
        is about half the work. Anything unusual (another format, a refusal, a new signature)
        takes the general way, so both give the same flows, summary and refusals.
        """
        tallies = _Tallies()
        try:
            yield from self._feed(stream, first_line, tallies)
        finally:
            tallies.fold_into(self)

    def _feed(self, stream: IO[bytes] | Iterable[bytes], first_line: int, tallies: _Tallies) -> Iterator[RefusedLine]:
        summary = self.summary
        matchers = tallies.matchers()
        for number, raw in numbered_lines(stream, first_line):
            new_signature: bool | tuple[Tally, tuple[str | None, ...]] = False
            if isinstance(raw, bytes):
                new_signature = _count_repeat(raw, matchers)
                if new_signature is True:
                    continue
            item = read_line(raw, number, first_line)
            if item is None:
                continue
            summary.lines += 1
            problem = item if isinstance(item, RefusedLine) else self._count_entry(item)
            if isinstance(problem, RefusedLine):
                summary.refused[problem.code] = summary.refused.get(problem.code, 0) + 1
                yield problem
            elif isinstance(new_signature, tuple) and isinstance(item, AccessLogEntry):
                tallies.remember(*new_signature, problem, item, self)
            if len(matchers) != tallies.patterns():
                matchers = tallies.matchers()

    def add(self, entry: AccessLogEntry) -> RefusedLine | None:
        """Count one entry into its flow; a refusal when it has no source or no destination."""
        placement = self._count_entry(entry)
        return placement if isinstance(placement, RefusedLine) else None

    def _count_entry(self, entry: AccessLogEntry) -> _Placement | RefusedLine:
        """``add``, answering where the entry went."""
        summary = self.summary
        summary.entries += 1
        summary.formats[entry.format] = summary.formats.get(entry.format, 0) + 1
        placement = self._place(entry)
        if not isinstance(placement, RefusedLine):
            self._record(placement, 1, entry.start_time, entry.start_time)
        return placement

    def _place(self, entry: AccessLogEntry) -> _Placement | RefusedLine:
        """Where every line like ``entry`` goes: a flow and its outcome, set aside, or refused."""
        source = self._sources.get(entry.pod)
        if source is None:
            resolved = self.resolver.resolve(entry.pod, entry.line)
            if isinstance(resolved, RefusedLine):
                return resolved
            # NB: one shared object per workload, so flow keys hash the same few objects (by identity).
            interned = _GATEWAY_SOURCE if _is_gateway(resolved) else self._workloads.setdefault(resolved, resolved)
            source = _remember(self._sources, entry.pod, interned)
        if source is _GATEWAY_SOURCE:
            return _GATEWAY_OWN
        kind = self._kinds.get((entry.upstream_cluster, entry.route_name))
        if kind is None:
            kind = self._kind(entry.upstream_cluster, entry.route_name)
        if kind in MESH_INTERNAL_KINDS:
            return _MESH_INTERNAL
        where = (entry.protocol, entry.authority, entry.downstream_local_address, entry.requested_server_name)
        target = self._destinations.get(where, _UNSEEN)
        if target is _UNSEEN:
            target = _remember(self._destinations, where, destination(entry))
        if target is None:
            return refused(
                entry.line,
                NO_DESTINATION,
                _("The entry names no destination (no authority, SNI or original destination address)."),
            )
        flow = self._flow((id(source), *target), source, entry)
        if isinstance(flow, RefusedLine):
            return flow
        facts = (entry.response_code, entry.response_flags, entry.response_code_details, kind)
        verdict = self._verdicts.get(facts)
        if verdict is None:
            verdict = _remember(self._verdicts, facts, (outcome_of(entry, kind), reached(entry, kind)))
        return _Placement(flow, verdict[0], verdict[1], entry.upstream_cluster or "-", kind)

    def _kind(self, cluster: str | None, route: str | None) -> ClusterKind:
        return _remember(self._kinds, (cluster, route), cluster_kind(cluster, route, self.gateway_hosts))

    def _flow(self, key: tuple[int, str, int, str], source: Workload, entry: AccessLogEntry) -> Flow | RefusedLine:
        flow = self._flows.get(key)
        if flow is None:
            if len(self._flows) >= self.max_flows:
                self.summary.over_limit += 1
                return refused(
                    entry.line,
                    TOO_MANY_FLOWS,
                    _("More than {limit} distinct flows; this entry's flow was not kept."),
                    limit=self.max_flows,
                )
            flow_key = FlowKey(source, *key[1:])  # type: ignore[arg-type]
            flow = self._flows[key] = Flow(flow_key, first_seen=entry.start_time, last_seen=entry.start_time)
            self.summary.flows += 1
        return flow

    def _record(self, placement: _Placement, lines: int, first: str, last: str) -> None:
        """Count ``lines`` lines of one placement, seen from ``first`` to ``last``."""
        flow = placement.flow
        if flow is None:
            if placement is _GATEWAY_OWN:
                self.summary.gateway_own += lines
            else:
                self.summary.mesh_internal += lines
            return
        flow.count += lines
        if first < flow.first_seen:
            flow.first_seen = first
        if last > flow.last_seen:
            flow.last_seen = last
        flow.outcomes[placement.outcome] = flow.outcomes.get(placement.outcome, 0) + lines
        cluster = placement.cluster
        if cluster in flow.clusters or len(flow.clusters) < MAX_CLUSTERS_PER_FLOW:
            flow.clusters[cluster] = flow.clusters.get(cluster, 0) + lines
        flow.cluster_kinds[placement.kind] = flow.cluster_kinds.get(placement.kind, 0) + lines
        if placement.reached:
            flow.reached += lines

    def flows(self) -> list[Flow]:
        """The external flows, ordered by source, host, port and protocol."""
        return sorted(self._flows.values(), key=lambda flow: flow.key)


_UNSEEN: Any = object()
_GATEWAY_SOURCE = Workload("(gateway)")  # NB: compared by identity: the lines of a gateway's own proxy.
MEMO_LIMIT = 100_000
_T = TypeVar("_T")


def _remember(memo: dict[Any, _T], key: Any, value: _T) -> _T:
    """Store ``value`` under ``key``; a memo that outgrows ``MEMO_LIMIT`` starts over (memory stays bounded)."""
    if len(memo) >= MEMO_LIMIT:
        memo.clear()
    memo[key] = value
    return value


Tally = dict[tuple[str | None, ...], list[Any]]


def _count_repeat(raw: bytes, matchers: list[tuple[FastLayout, Tally]]) -> bool | tuple[Tally, tuple[str | None, ...]]:
    """Count ``raw`` into its tally when it repeats a known signature (True); else the new signature
    to remember once the general way has read the line, or False for a line to read the general way only."""
    try:
        text = raw.decode().rstrip("\r\n")
    except UnicodeDecodeError:
        return False
    for fast, tally in matchers:
        match = fast.pattern.match(text)
        if match is None:
            continue
        signature = match.group(*fast.signature)
        record = tally.get(signature)
        if record is None:
            return tally, signature
        start = match.group(fast.start)
        try:
            from_iso(start)
        except ValueError:
            return False  # NB: no real instant (2024-13-45): the general way refuses the line.
        record[0] += 1
        if start < record[1]:
            record[1] = start
        elif start > record[2]:
            record[2] = start
        return True
    return False


@dataclass(frozen=True, slots=True)
class _Placement:
    """Where every entry of one signature goes: its flow (None when set aside) and what it adds there."""

    flow: Flow | None
    outcome: str = ""
    reached: bool = False
    cluster: str = ""
    kind: ClusterKind = "none"


_GATEWAY_OWN = _Placement(None)  # NB: both set-asides are compared by identity.
_MESH_INTERNAL = _Placement(None)
TALLY_LIMIT = 20_000


class _Tallies:
    """The fast path's counts: per whole-line pattern, per signature, lines and first/last seen since the last fold.

    A record is ``[lines, first seen, last seen, placement, format]``; its first line was counted
    the general way, so a record only ever adds.
    """

    def __init__(self) -> None:
        self._by_pattern: dict[re.Pattern[str], Tally] = {}

    def matchers(self) -> list[tuple[FastLayout, Tally]]:
        """TEXT's pattern, then those of the JSON layouts learned so far, each with its tally."""
        return [(fast, self._by_pattern.setdefault(fast.pattern, {})) for fast in (TEXT_FAST, *fast_layouts())]

    @staticmethod
    def patterns() -> int:
        """How many whole-line patterns there are now (a line may teach a JSON layout)."""
        return 1 + layout_count()

    def remember(
        self,
        tally: Tally,
        signature: tuple[str | None, ...],
        placement: _Placement,
        entry: AccessLogEntry,
        aggregator: FlowAggregator,
    ) -> None:
        """Keep where the first line of ``signature`` went, for the lines that repeat it."""
        if len(tally) >= TALLY_LIMIT:
            self._fold(tally, aggregator)  # NB: memory stays bounded however many signatures a log has.
        tally[signature] = [0, entry.start_time, entry.start_time, placement, entry.format]

    def fold_into(self, aggregator: FlowAggregator) -> None:
        """Add every count to the aggregator's flows and summary (at the end of a feed)."""
        for tally in self._by_pattern.values():
            self._fold(tally, aggregator)

    @staticmethod
    def _fold(tally: Tally, aggregator: FlowAggregator) -> None:
        """Add a tally's counts to the aggregator, then forget its signatures (their next lines start afresh)."""
        summary = aggregator.summary
        for lines, first, last, placement, log_format in tally.values():
            if lines:
                summary.lines += lines
                summary.entries += lines
                summary.formats[log_format] = summary.formats.get(log_format, 0) + lines
                aggregator._record(placement, lines, first, last)
        tally.clear()


def _is_gateway(source: Workload) -> bool:
    """Istio's gateway deployments carry ``istio: egressgateway`` / ``istio: ingressgateway``."""
    return any(key == "istio" and value.endswith("gateway") for key, value in source.labels)


def destination(entry: AccessLogEntry) -> tuple[str, int, FlowProtocol] | None:
    """(host, port, protocol) of an entry: authority for HTTP, SNI for TLS, IP for TCP; None if unnamed."""
    original = _split_address(entry.downstream_local_address)
    protocol = entry.protocol
    if protocol is not None and protocol.startswith("HTTP") and entry.authority:
        host, port = _split_authority(entry.authority)
        default_port = original[1] if original else 80
        return host, port or default_port, "HTTP2" if protocol == "HTTP/2" else "HTTP"
    if original is None:
        return None
    if entry.requested_server_name:
        return entry.requested_server_name.lower().rstrip("."), original[1], "TLS"
    return original[0], original[1], "TCP"


def _split_authority(authority: str) -> tuple[str, int | None]:
    """``Example.com:8080`` → (``example.com``, 8080); ``[2001:db8::1]:80`` → (``[2001:db8::1]``, 80)."""
    text = authority.lower()
    if text.startswith("["):
        literal, _bracket, rest = text.partition("]")
        return f"{literal}]", _port(rest[1:]) if rest.startswith(":") else None
    host, colon, port = text.rpartition(":")
    if colon and port.isdigit():
        return host.rstrip("."), _port(port)
    return text.rstrip("."), None


def _split_address(address: str | None) -> tuple[str, int] | None:
    """``10.0.0.1:443`` or ``[2001:db8::1]:443`` → (host, port); None for anything else."""
    if not address:
        return None
    host, colon, port_text = address.rpartition(":")
    port = _port(port_text) if colon else None
    if port is None:
        return None
    if _IPV4.match(host):
        return host, port  # NB: the common case, without ipaddress's slower parse.
    literal = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    try:
        ip = ipaddress.ip_address(literal)
    except ValueError:
        return None
    return (f"[{ip.compressed}]" if ip.version == 6 else ip.compressed), port


def _port(text: str) -> int | None:
    return int(text) if text.isdigit() and 0 < int(text) <= 65535 else None


def cluster_kind(cluster: str | None, route: str | None, gateway_hosts: Collection[str] = ()) -> ClusterKind:
    """Which kind of upstream cluster took the entry (see the module docstring).

    Args:
        cluster: ``%UPSTREAM_CLUSTER_RAW%`` (None for ``-``).
        route: ``%ROUTE_NAME%``, which tells ``block_all`` from other local replies.
        gateway_hosts: Service hosts of the egress gateways; a Service whose first label contains
            ``egressgateway`` (Istio's and ASM's names) counts as one anyway.
    """
    if cluster is None:
        return "block_all" if route == "block_all" else "none"
    if cluster == "PassthroughCluster":
        return "passthrough"
    if cluster == "BlackHoleCluster":
        return "blackhole"
    if cluster.startswith(("inbound|", "InboundPassthroughCluster")):
        return "inbound"
    if cluster.startswith("outbound|"):
        host = cluster.split("|", 3)[-1]
        if host in gateway_hosts or ("egressgateway" in host.partition(".")[0] and host.endswith(CLUSTER_LOCAL)):
            return "egress_gateway"
        return "mesh" if host.endswith(CLUSTER_LOCAL) else "service_entry"
    return "none"


def outcome_of(entry: AccessLogEntry, kind: ClusterKind) -> str:
    """``"200"``/``"502"``/... for HTTP, ``"reset"`` or ``"connected"`` for a TCP/TLS connection."""
    if entry.response_code:
        return str(entry.response_code)
    if kind in ("blackhole", "block_all", "none") or LOCAL_FAILURE_FLAGS.intersection(entry.response_flags):
        return "reset"
    return "connected"


def reached(entry: AccessLogEntry, kind: ClusterKind) -> bool:
    """Whether the request reached the external side (as far as the client's sidecar can tell)."""
    if kind in ("blackhole", "block_all", "none") or LOCAL_FAILURE_FLAGS.intersection(entry.response_flags):
        return False
    details = entry.response_code_details
    if entry.response_code and details is not None and details != "via_upstream":
        return False  # NB: a local reply (direct_response, rbac_access_denied ...) never left the proxy.
    # NB: behind the gateway the sidecar sees the gateway's RBAC 403 as an upstream answer.
    return not (kind == "egress_gateway" and entry.response_code == 403)
