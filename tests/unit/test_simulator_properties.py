"""Properties of random valid policies, checked by simulating requests through their expansion.

(a) Every selected source reaches every target of its rule: 200, with the upstream request the
    external server should receive (``https`` on the upgrade port for ``httpsUpgrade``).
(b) A workload in a namespace no rule lists gets what REGISTRY_ONLY gives an unknown host: 502
    from ``block_all`` for HTTP on port 80 (spec §5: every namespace has an HTTP listener there)
    and on the gateway Service's HTTP ports (every sidecar sees that Service, so it has an HTTP
    listener on them: found with Istio's own config generator, tests/oracle), a reset for HTTP on
    any other port (no listener at all, spec §5 step 2) and for TLS/TCP.
(c) A source some rule lists, calling a target its rules do not allow, is blocked the same way
    (502 for HTTP wherever its sidecar has an HTTP listener on the port, else a reset): the
    catch-all routes of spec §4.4 keep it from falling back to a direct route.

One exception is Istio's, not the expansion's: a TCP port without addresses becomes a wildcard
``0.0.0.0:<port>`` chain (IST0134) that takes every connection on that port (spec §5 S4-3). So
(a) leaves out TCP targets whose port another TCP host group also claims in that namespace, and
(c) leaves out plain HTTP on a port where the namespace has no HTTP listener but such a chain:
the request is carried to the TCP entry's host, which (as every external host here) answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from policies.core.gateway import HTTP_FAMILY
from policies.core.model import EgressPolicy, To
from policies.core.simulator import Mesh, Request, build_mesh
from tests.strategies import gateway_for, valid_policies

expansion = pytest.importorskip("policies.core.expansion")

UNLISTED_NAMESPACE = "not-a-source-namespace"  # longer than any namespace the strategy draws
PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mesh_of(policy: EgressPolicy) -> Mesh:
    gateway = gateway_for(policy)
    return build_mesh(expansion.expand_policy(policy, gateway), gateway=gateway)


def is_http(to: To) -> bool:
    return to.port.protocol in HTTP_FAMILY


def request_url(to: To, host: str) -> str:
    """``http://`` for HTTP-family targets, ``https://`` for HTTPS/TLS/TCP ones."""
    return f"{'http' if is_http(to) else 'https'}://{host}:{to.port.number}/"


def expected_upstream(to: To, host: str) -> str:
    upgrade = to.httpsUpgrade
    if upgrade is not None and upgrade.enabled:
        return f"https://{host}:{upgrade.port}/"
    return f"{'http' if is_http(to) else 'https'}://{host}:{to.port.number}/"


def contested_tcp_ports(policy: EgressPolicy) -> set[tuple[str, int]]:
    """(namespace, port) pairs where two TCP host groups compete for the wildcard chain."""
    groups: dict[tuple[str, int], set[tuple[str, ...]]] = {}
    namespaces_of_group: dict[tuple[str, ...], set[str]] = {}
    for _r, _t, rule, to in policy.iter_targets():
        key = tuple(sorted(to.hosts))
        namespaces_of_group.setdefault(key, set()).update(source.namespace for source in rule.from_)
    for _r, _t, _rule, to in policy.iter_targets():
        if to.port.protocol == "TCP":
            key = tuple(sorted(to.hosts))
            for namespace in namespaces_of_group[key]:
                groups.setdefault((namespace, to.port.number), set()).add(key)
    return {pair for pair, owners in groups.items() if len(owners) > 1}


def allowed_requests(policy: EgressPolicy) -> Iterator[tuple[str, dict[str, str], To, str]]:
    """Every (namespace, labels, target, host) a rule allows, except contested TCP ports."""
    contested = contested_tcp_ports(policy)
    for _r, _t, rule, to in policy.iter_targets():
        for source in rule.from_:
            if (source.namespace, to.port.number) in contested and to.port.protocol == "TCP":
                continue
            for host in to.hosts:
                if "*" not in host:
                    yield source.namespace, dict(source.workloadSelector or {}), to, host


def group_key(to: To) -> tuple[str, ...]:
    return tuple(sorted(to.hosts))


def listening_http_ports(policy: EgressPolicy) -> set[int]:
    """HTTP listeners every sidecar has: 80 (spec §5 model) and the gateway Service's HTTP ports."""
    return {80} | {p.number for p in gateway_for(policy).ports if p.protocol in HTTP_FAMILY}


def ports_seen(policy: EgressPolicy) -> dict[str, dict[str, set[int]]]:
    """Per namespace, the HTTP ports (plus the mesh-wide ones) and TCP ports of the host groups exported to it."""
    namespaces: dict[tuple[str, ...], set[str]] = {}
    for _r, _t, rule, to in policy.iter_targets():
        namespaces.setdefault(group_key(to), set()).update(source.namespace for source in rule.from_)
    seen: dict[str, dict[str, set[int]]] = {}
    for _r, _t, _rule, to in policy.iter_targets():
        for namespace in namespaces[group_key(to)]:
            ports = seen.setdefault(namespace, {"http": listening_http_ports(policy), "tcp": set()})
            if is_http(to) or to.port.protocol == "TCP":
                ports["http" if is_http(to) else "tcp"].add(to.port.number)
    return seen


def allows(rule: Any, namespace: str, labels: dict[str, str]) -> bool:
    """Whether a rule's ``from`` selects the workload (its labels ⊇ the selector)."""
    return any(
        source.namespace == namespace and (source.workloadSelector or {}).items() <= labels.items()
        for source in rule.from_
    )


def summary(result: Any) -> dict[str, Any]:
    return {"status": result.status, "upstream": result.upstream}


@PROPERTY_SETTINGS
@given(policy=valid_policies(max_rules=8))
def test_every_selected_source_reaches_every_target_of_its_rule(policy: EgressPolicy) -> None:
    # Given the expansion of a random valid policy
    mesh = mesh_of(policy)

    # When each selected source calls each host of each target of its rule
    failures = []
    for namespace, labels, to, host in allowed_requests(policy):
        result = mesh.simulate(Request(namespace, labels, request_url(to, host)))
        expected = {"status": 200, "upstream": expected_upstream(to, host)}
        if summary(result) != expected:
            failures.append((namespace, labels, request_url(to, host), summary(result), expected, result.hops))

    # Then every request reaches the external host as the policy says
    assert failures == []


@PROPERTY_SETTINGS
@given(policy=valid_policies(max_rules=8))
def test_sources_in_unlisted_namespaces_are_blocked(policy: EgressPolicy) -> None:
    # Given the expansion of a random valid policy
    mesh = mesh_of(policy)

    # When a workload of a namespace no rule lists calls every target (with a selected source's labels)
    failures = []
    for _r, _t, rule, to in policy.iter_targets():
        labels = dict(rule.from_[0].workloadSelector or {})
        for host in (h for h in to.hosts if "*" not in h):
            result = mesh.simulate(Request(UNLISTED_NAMESPACE, labels, request_url(to, host)))
            http_listener = is_http(to) and to.port.number in listening_http_ports(policy)
            expected = {"status": 502 if http_listener else "reset", "upstream": None}
            if summary(result) != expected:
                failures.append((request_url(to, host), summary(result), expected, result.hops))

    # Then its sidecar does not know the host: block_all for HTTP on port 80, else no response
    assert failures == []


@PROPERTY_SETTINGS
@given(policy=valid_policies(max_rules=8))
def test_listed_sources_are_blocked_from_targets_their_rules_do_not_allow(policy: EgressPolicy) -> None:
    # Given the expansion of a random valid policy and every distinct source it lists
    mesh = mesh_of(policy)
    sources = {
        (s.namespace, tuple(sorted((s.workloadSelector or {}).items())))
        for r in policy.spec.egressRules
        for s in r.from_
    }
    listeners = ports_seen(policy)

    # When each source calls each target whose rule does not select it
    failures = []
    for namespace, label_items in sorted(sources):
        labels = dict(label_items)
        for _r, _t, rule, to in policy.iter_targets():
            if allows(rule, namespace, labels):
                continue
            for host in (h for h in to.hosts if "*" not in h):
                result = mesh.simulate(Request(namespace, labels, request_url(to, host)))
                ports = listeners.get(namespace, {"http": listening_http_ports(policy), "tcp": set()})
                http_listener = is_http(to) and to.port.number in ports["http"]
                if is_http(to) and not http_listener and to.port.number in ports["tcp"]:
                    continue  # NB: carried by another entry's wildcard TCP chain (see the module docstring)
                expected = {"status": 502 if http_listener else "reset", "upstream": None}
                if summary(result) != expected:
                    failures.append((namespace, labels, request_url(to, host), summary(result), expected, result.hops))

    # Then none of them gets through, neither via the gateway nor directly
    assert failures == []
