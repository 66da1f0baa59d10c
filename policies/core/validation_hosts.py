"""Rules about the hosts of to-entries (spec §6: V10, V10a, V10b, V11; V10c from Istio's validation).

Hosts decide which ServiceEntries and VirtualServices are generated: entries with identical
host lists form one host group (spec §4.3) and share those objects, so host lists must be
identical or disjoint, and a port may appear once per group.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.core.findings import Finding
from policies.core.i18n import _
from policies.core.validation_context import Target, ValidationContext, error, info, warning
from policies.core.validation_syntax import (
    CLUSTER_LOCAL_SUFFIX,
    WILDCARD_PREFIX,
    is_fqdn,
    is_ip_literal,
    without_wildcard,
)

MAX_HOSTS = 50


def check_hosts(ctx: ValidationContext) -> Iterator[Finding]:
    """V10: 1-50 distinct, lower-case, external DNS names per entry."""
    for target in ctx.targets:
        hosts = target.to.hosts or []
        path = f"{target.path}.hosts"
        if not hosts:
            yield error("V10", path, _("hosts is empty; list 1-50 external host names, e.g. api.example.com."))
        elif len(hosts) > MAX_HOSTS:
            yield error(
                "V10",
                path,
                _("hosts has {count} items; the limit is {limit}, so split the entry into several to-entries."),
                count=len(hosts),
                limit=MAX_HOSTS,
            )
        first_seen: dict[str, int] = {}
        for h, host in enumerate(hosts):
            host_path = f"{path}[{h}]"
            if host in first_seen:
                yield error(
                    "V10",
                    host_path,
                    _("Host '{host}' is listed twice (first at {first}); remove the duplicate."),
                    host=host,
                    first=f"{path}[{first_seen[host]}]",
                )
                continue
            first_seen[host] = h
            yield from _host_syntax(host, host_path)


def _host_syntax(host: str, path: str) -> Iterator[Finding]:
    if host in ("", "*"):
        yield error(
            "V10",
            path,
            _("Host '{host}' does not name a destination; list concrete host names such as api.example.com."),
            host=host,
        )
    elif is_ip_literal(host):
        yield error(
            "V10",
            path,
            _(
                "Host '{host}' is an IP address; hosts must be DNS names, so use the external "
                "service's DNS name instead."
            ),
            host=host,
        )
    elif host.endswith("."):
        yield error(
            "V10",
            path,
            _("Host '{host}' ends with a dot; write it without the trailing dot: '{suggestion}'."),
            host=host,
            suggestion=host.rstrip("."),
        )
    elif host != host.lower():
        yield error(
            "V10",
            path,
            _("Host '{host}' contains upper-case letters; write it in lower case: '{suggestion}'."),
            host=host,
            suggestion=host.lower(),
        )
    elif not is_fqdn(without_wildcard(host)):
        yield error(
            "V10",
            path,
            _(
                "Host '{host}' is not a valid DNS name; use a lower-case fully-qualified name "
                "such as api.example.com (letters, digits, '-' and '.', optionally starting "
                "with '*.')."
            ),
            host=host,
        )
    elif host.endswith(CLUSTER_LOCAL_SUFFIX):
        yield warning(
            "V10",
            path,
            _(
                "Host '{host}' is an in-cluster service; egress rules are for external hosts, "
                "and in-mesh services are reached without the egress gateway."
            ),
            host=host,
        )


def check_wildcards(ctx: ValidationContext) -> Iterator[Finding]:
    """V10a: no wildcard hosts: the generated ServiceEntry resolves by DNS, and Istio refuses them there."""
    for target in ctx.targets:
        for h, host in enumerate(target.to.hosts or []):
            if not (host.startswith(WILDCARD_PREFIX) and is_fqdn(without_wildcard(host))):
                continue  # NB: malformed wildcards are V10 syntax errors, reported once there.
            path = f"{target.path}.hosts[{h}]"
            if h == 0:
                yield error(
                    "V10a",
                    path,
                    _(
                        "hosts[0] '{host}' is a wildcard, but the first host is the upstream "
                        "the gateway resolves by DNS; put a concrete host name first."
                    ),
                    host=host,
                )
            else:
                # NB: Istio's ServiceEntry validation: "hosts must be FQDN or contain only prefix
                # wildcards if no endpoints are provided for resolution mode DNS" (checked with
                # the harness in testenv/istio); such a policy could never be applied.
                yield error(
                    "V10a",
                    path,
                    _(
                        "Host '{host}' is a wildcard, but the entry's ServiceEntry resolves its hosts by DNS "
                        "and Istio refuses wildcard hosts there; list the concrete host names instead."
                    ),
                    host=host,
                )


def check_tcp_single_host(ctx: ValidationContext) -> Iterator[Finding]:
    """V10c: a TCP entry names one host: Istio refuses several hosts on a non-HTTP, non-TLS port."""
    for target in ctx.targets:
        hosts = target.to.hosts or []
        if target.protocol == "TCP" and len(hosts) > 1:
            yield error(
                "V10c",
                f"{target.path}.hosts",
                _(
                    "A TCP entry has {count} hosts, but plain TCP carries no host name to tell them apart "
                    "and Istio refuses a ServiceEntry with several hosts on a TCP port; give each host "
                    "its own entry (and port), or use protocol TLS if the traffic is TLS."
                ),
                count=len(hosts),
            )


def check_same_addresses(ctx: ValidationContext) -> Iterator[Finding]:
    """V10b: a reminder that all hosts of an entry must resolve alike (not checkable offline)."""
    for target in ctx.targets:
        hosts = target.to.hosts or []
        if len(hosts) > 1:
            yield info(
                "V10b",
                f"{target.path}.hosts",
                _(
                    "All hosts of this entry must resolve to the same "
                    "addresses: traffic for each of them is sent to {first}. "
                    "This cannot be checked offline."
                ),
                first=hosts[0],
            )


def check_tcp_port_claims(ctx: ValidationContext) -> Iterator[Finding]:
    """V11a: two host groups with TCP entries on one port, seen from one namespace: one is unreachable.

    A TCP ServiceEntry without addresses (the expansion never sets any) becomes a catch-all
    filter chain on ``0.0.0.0:<port>``; a sidecar keeps only the first such chain per port
    (``mergeTCPFilterChains`` in pilot's listener.go), ordering services by creation time, then
    host name (``SortServicesByCreationTime``). Objects applied together share a creation time,
    so the entry whose host sorts later never gets a connection in the namespaces that see both.
    """
    namespaces = _group_namespaces(ctx)
    claims: dict[int, list[Target]] = {}
    for target in ctx.targets:
        if target.protocol == "TCP" and target.to.port and target.to.port.number and target.to.hosts:
            claims.setdefault(target.to.port.number, []).append(target)
    for port, targets in claims.items():
        ordered = sorted(targets, key=lambda t: (t.to.hosts or [""])[0])
        for i, loser in enumerate(ordered):
            for winner in ordered[:i]:
                shared = namespaces[_group(winner)] & namespaces[_group(loser)]
                if _group(winner) == _group(loser) or not shared:
                    continue
                yield error(
                    "V11a",
                    f"{loser.path}.port.number",
                    _(
                        "TCP entries {winner} ({winner_host}) and {loser} ({loser_host}) both use port {port} "
                        "for sources in {namespaces}. Istio keeps one catch-all chain per TCP port without "
                        "addresses, the first by creation time then host name, so every connection on port "
                        "{port} from there goes to {winner_host} and {loser_host} is never reached. "
                        "Use different ports."
                    ),
                    winner=winner.path,
                    winner_host=(winner.to.hosts or [""])[0],
                    loser=loser.path,
                    loser_host=(loser.to.hosts or [""])[0],
                    port=port,
                    namespaces=", ".join(sorted(shared)),
                )
                break


def _group(target: Target) -> frozenset[str]:
    return frozenset(target.to.hosts or [])


def _group_namespaces(ctx: ValidationContext) -> dict[frozenset[str], set[str]]:
    """The source namespaces each host group is exported to (the expansion's NS(T))."""
    namespaces: dict[frozenset[str], set[str]] = {}
    for target in ctx.targets:
        sources = {source.namespace for source in target.rule.from_ or [] if source.namespace}
        namespaces.setdefault(_group(target), set()).update(sources)
    return namespaces


def check_host_groups(ctx: ValidationContext) -> Iterator[Finding]:
    """V11: host lists are identical or disjoint; port numbers and names appear once per host group."""
    owner_of_host: dict[str, tuple[frozenset[str], str]] = {}
    owner_of_port: dict[tuple[frozenset[str], str, object], str] = {}
    for target in ctx.targets:
        group = frozenset(target.to.hosts or [])
        yield from _overlapping_hosts(target, group, owner_of_host)
        if group and target.to.port is not None:
            yield from _ports_used_twice(target, group, owner_of_port)


def _overlapping_hosts(
    target: Target, group: frozenset[str], owner_of_host: dict[str, tuple[frozenset[str], str]]
) -> Iterator[Finding]:
    seen: set[str] = set()
    for h, host in enumerate(target.to.hosts or []):
        if host in seen:
            continue  # NB: a repeated host is a V10 error; report the overlap once.
        seen.add(host)
        owner_group, owner_path = owner_of_host.setdefault(host, (group, target.path))
        if owner_group != group:
            yield error(
                "V11",
                f"{target.path}.hosts[{h}]",
                _(
                    "Host '{host}' also appears in {other} with a different host list; to-entries must list identical "
                    "or disjoint hosts, so give both entries the same hosts or remove it from one."
                ),
                host=host,
                other=owner_path,
            )


def _ports_used_twice(
    target: Target, group: frozenset[str], owner_of_port: dict[tuple[frozenset[str], str, object], str]
) -> Iterator[Finding]:
    """One ServiceEntry per host group lists every port: numbers and names must be unique in it."""
    port = target.to.port
    assert port is not None  # NB: the caller skips entries without a port (V12).
    if port.number is not None and owner_of_port.setdefault((group, "number", port.number), target.path) != target.path:
        yield error(
            "V11",
            f"{target.path}.port.number",
            _(
                "Port {number} is already used for these hosts by {other}; within a host group each port may appear "
                "once, so merge the entries or use another port."
            ),
            number=port.number,
            other=owner_of_port[(group, "number", port.number)],
        )
    if port.name and owner_of_port.setdefault((group, "name", port.name), target.path) != target.path:
        yield error(
            "V11",
            f"{target.path}.port.name",
            _(
                "Port name '{name}' is already used for these hosts by {other}; the ports of a host group form one "
                "ServiceEntry, whose port names must be unique, so rename it, e.g. '{suggestion}'."
            ),
            name=port.name,
            other=owner_of_port[(group, "name", port.name)],
            suggestion=f"{port.name}-{port.number}",
        )
