"""Batched simulation (``Mesh.simulate_many``, ``Mesh.differences``) answers exactly like one request at a time.

The batch reads each URL and client once and skips requests both meshes know nothing of; these
properties compare it with ``Mesh.simulate`` on random valid policies, in both mesh modes.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.core.expansion import expand_policy
from policies.core.gateway import GatewayDescription, GatewayPort
from policies.core.model import EgressPolicy
from policies.core.reachability_change import probe_sources, probe_urls, reachability_change
from policies.core.simulator import MESH_MODES, Mesh, Request, SimulationResult, build_mesh
from tests.fixtures.seed import seed_policy
from tests.strategies import gateway_for, valid_policies

PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MODES = st.sampled_from(MESH_MODES)


def grid(*policies: EgressPolicy) -> list[Request]:
    """Every probe source against every probe URL of ``policies``, source-major (as reachability asks)."""
    urls = probe_urls(policies)
    return [Request(source.namespace, source.labels, url) for source in probe_sources(policies) for url in urls]


def shared_gateway(*policies: EgressPolicy) -> GatewayDescription:
    ports: dict[int, GatewayPort] = {}
    for policy in policies:
        ports.update({port.number: port for port in gateway_for(policy).ports})
    return GatewayDescription(name="egressgateway", ports=tuple(ports.values()))


def mesh_of(policy: EgressPolicy | None, gateway: GatewayDescription, mode: str) -> Mesh:
    return build_mesh(expand_policy(policy, gateway) if policy else [], mesh_mode=mode, gateway=gateway)


def whole(result: SimulationResult) -> tuple[object, ...]:
    return (result.status, result.upstream, result.body, result.hops, result.reason)


@PROPERTY_SETTINGS
@given(valid_policies(max_rules=3), MODES)
def test_simulate_many_answers_each_request_as_simulate_does(policy: EgressPolicy, mode: str) -> None:
    # Given
    gateway = shared_gateway(policy)
    mesh, requests = mesh_of(policy, gateway, mode), grid(policy)

    # When
    batch = mesh.simulate_many(requests)

    # Then: status, upstream, body, every hop and the reason
    assert [whole(result) for result in batch] == [whole(mesh.simulate(request)) for request in requests]


@PROPERTY_SETTINGS
@given(valid_policies(max_rules=3), st.none() | valid_policies(max_rules=3), MODES, MODES)
def test_differences_are_exactly_the_requests_whose_outcome_differs(
    old: EgressPolicy, new: EgressPolicy | None, old_mode: str, new_mode: str
) -> None:
    # Given: two revisions, possibly under different outbound modes (then unknown hosts differ too)
    policies = [p for p in (old, new) if p is not None]
    gateway = shared_gateway(*policies)
    before, after = mesh_of(old, gateway, old_mode), mesh_of(new, gateway, new_mode)
    requests = grid(*policies)

    # When
    found = [(index, whole(ours), whole(theirs)) for index, ours, theirs in before.differences(after, requests)]

    # Then
    expected = []
    for index, request in enumerate(requests):
        ours, theirs = before.simulate(request), after.simulate(request)
        if (ours.status, ours.upstream) != (theirs.status, theirs.upstream):
            expected.append((index, whole(ours), whole(theirs)))
    assert found == expected


def test_a_mode_change_alone_changes_every_unknown_destination() -> None:
    # Given: the same objects, REGISTRY_ONLY before and ALLOW_ANY after
    policy = seed_policy("2")
    gateway = shared_gateway(policy)
    requests = [*grid(policy), Request("mytest", {"app": "sleep-a"}, "https://unknown.example.org/")]

    # When
    found = list(mesh_of(policy, gateway, "REGISTRY_ONLY").differences(mesh_of(policy, gateway, "ALLOW_ANY"), requests))

    # Then: the unknown host is reset before and passed through after
    last = [
        (ours.status, theirs.status, theirs.upstream) for index, ours, theirs in found if index == len(requests) - 1
    ]
    assert last == [("reset", 200, "https://unknown.example.org:443/")]


def test_the_reachability_change_of_the_bench_grid_matches_one_by_one_simulation() -> None:
    # Given: scenario 1 to 2 (the example)
    old, new = seed_policy("1"), seed_policy("2")
    gateway = shared_gateway(old, new)
    before, after = mesh_of(old, gateway, "REGISTRY_ONLY"), mesh_of(new, gateway, "REGISTRY_ONLY")

    # When
    change = reachability_change(old, new, gateway)

    # Then
    differing = {
        (request.source_namespace, tuple(sorted(request.source_labels.items())), request.url)
        for request in grid(old, new)
        if (a := before.simulate(request)).status != (b := after.simulate(request)).status or a.upstream != b.upstream
    }
    reported = {(d.source.namespace, tuple(sorted(d.source.labels.items())), d.url) for d in change.deltas}
    assert reported == differing and len(reported) == 4
