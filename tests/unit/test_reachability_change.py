"""Reachability change: which (source, URL) pairs a policy change lets through or stops.

Examples run on the seed scenarios; the properties on random valid policies
(``tests/strategies.py``) check the change against the simulator itself.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.core.expansion import expand_policy
from policies.core.gateway import GatewayDescription, seed_gateway
from policies.core.model import EgressPolicy
from policies.core.reachability_change import (
    Probes,
    ProbeSource,
    ReachabilityChange,
    objects_reachability_change,
    probe_sources,
    probe_urls,
    reachability_change,
)
from policies.core.simulator import Request, build_mesh
from tests.fixtures.seed import seed_policy
from tests.strategies import gateway_for, valid_policies

PROPERTY_SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLEEP_A = "mytest/app=sleep-a"
ZH = {"{source} → {url}: {old} → {new}": "{source} 访问 {url}：{old} → {new}"}


def rows(change: ReachabilityChange) -> list[tuple[str, str, str, object, object, str | None, str | None]]:
    return [
        (d.direction, d.source.label, d.url, d.old.status, d.new.status, d.old.upstream, d.new.upstream)
        for d in change.deltas
    ]


def test_scenario_1_to_2_upgrades_http_and_newly_allows_https_for_sleep_a():
    change = reachability_change(seed_policy("1"), seed_policy("2"), seed_gateway())

    assert rows(change) == [
        ("allowed", SLEEP_A, "https://www.httpbin.org/", "reset", 200, None, "https://www.httpbin.org:443/"),
        ("allowed", SLEEP_A, "https://httpbin.org/", "reset", 200, None, "https://httpbin.org:443/"),
        ("changed", SLEEP_A, "http://www.httpbin.org/", 200, 200, "http://www.httpbin.org:80/", "https://www.httpbin.org:443/"),
        ("changed", SLEEP_A, "http://httpbin.org/", 200, 200, "http://httpbin.org:80/", "https://httpbin.org:443/"),
    ]  # fmt: skip


def test_live_istio_objects_compare_like_the_revision_they_came_from():
    gateway, old, new = seed_gateway(), seed_policy("1"), seed_policy("2")
    probes = Probes(probe_sources([old, new]), probe_urls([old, new]))

    live = objects_reachability_change(expand_policy(old, gateway), expand_policy(new, gateway), probes, gateway)

    assert rows(live) == rows(reachability_change(old, new, gateway))


def test_against_the_empty_policy_everything_allowed_is_newly_allowed():
    change = reachability_change(None, seed_policy("1"), seed_gateway())

    assert rows(change) == [
        ("allowed", SLEEP_A, "http://www.httpbin.org/", 502, 200, None, "http://www.httpbin.org:80/"),
        ("allowed", SLEEP_A, "http://httpbin.org/", 502, 200, None, "http://httpbin.org:80/"),
    ]


def test_removing_the_http_entry_newly_blocks_it():
    change = reachability_change(seed_policy("2"), seed_policy("3"), seed_gateway())

    assert [(d.direction, d.url, d.old.status, d.new.status) for d in change.deltas] == [
        ("blocked", "http://www.httpbin.org/", 200, 502),
        ("blocked", "http://httpbin.org/", 200, 502),
    ]
    assert change.counts() == {"allowed": 0, "blocked": 2, "changed": 0}


def test_newly_allowed_pairs_come_before_newly_blocked_ones():
    change = reachability_change(seed_policy("3"), seed_policy("4"), seed_gateway())

    directions = [delta.direction for delta in change.deltas]
    assert directions == sorted(directions, key=["allowed", "blocked", "changed"].index)
    assert ("blocked", SLEEP_A, "https://httpbin.org/", 200, "reset", "https://httpbin.org:443/", None) in rows(change)


def test_under_allow_any_a_policy_newly_blocks_the_namespace_s_other_workloads():
    change = reachability_change(None, seed_policy("1"), seed_gateway(), mesh_mode="ALLOW_ANY")

    assert [(d.direction, d.source.label, d.url, d.old.status, d.new.status) for d in change.deltas] == [
        ("blocked", "mytest/*", "http://www.httpbin.org/", 200, 502),
        ("blocked", "mytest/*", "http://httpbin.org/", 200, 502),
    ]


@pytest.mark.parametrize("scenario", ["1", "2", "2a", "3", "4"])
def test_a_revision_against_itself_changes_nothing(scenario):
    policy = seed_policy(scenario)

    assert reachability_change(policy, policy, seed_gateway()).deltas == []


def test_probe_sources_are_each_from_item_an_unselected_workload_and_an_unlisted_namespace():
    assert probe_sources([seed_policy("1")]) == [
        ProbeSource("mytest", {"app": "sleep-a"}, "selected"),
        ProbeSource("mytest", {}, "unselected"),
        ProbeSource("unlisted-namespace", {}, "unlisted"),
    ]


def test_a_whole_namespace_source_needs_no_unselected_twin():
    data = seed_policy("1").model_dump(by_alias=True, exclude_none=True)
    data["spec"]["egressRules"][0]["from"] = [{"namespace": "unlisted-namespace"}]
    policy = EgressPolicy.model_validate(data)

    assert probe_sources([policy]) == [
        ProbeSource("unlisted-namespace", {}, "selected"),
        ProbeSource("unlisted-namespace-2", {}, "unlisted"),
    ]


def test_the_unlisted_workload_is_not_in_the_namespace_holding_the_objects():
    data = seed_policy("1").model_dump(by_alias=True, exclude_none=True)
    data["metadata"]["namespace"] = "unlisted-namespace"

    assert probe_sources([EgressPolicy.model_validate(data)])[-1] == ProbeSource("unlisted-namespace-2", {}, "unlisted")


def test_probe_urls_use_both_schemes_on_the_entry_port_and_the_upgrade_port():
    assert probe_urls([seed_policy("2a")]) == [
        "http://www.httpbin.org/",
        "https://www.httpbin.org:80/",
        "https://www.httpbin.org/",
        "http://www.httpbin.org:443/",
        "http://httpbin.org/",
        "https://httpbin.org:80/",
        "https://httpbin.org/",
        "http://httpbin.org:443/",
    ]


def test_as_dict_is_the_api_shape_and_renders_with_the_given_translator():
    change = reachability_change(None, seed_policy("1"), seed_gateway())

    data = change.as_dict(translate=lambda template: ZH.get(template, template))

    assert data["counts"] == {"allowed": 2, "blocked": 0, "changed": 0}
    assert data["probed"] == {"sources": 3, "urls": 4, "pairs": 12}
    first = data["changes"][0]
    assert first["source"] == {
        "namespace": "mytest",
        "labels": {"app": "sleep-a"},
        "role": "selected",
        "label": SLEEP_A,
    }
    assert first["url"] == "http://www.httpbin.org/"
    assert first["direction"] == "allowed"
    assert first["old"]["status"] == 502 and first["old"]["upstream"] is None
    assert first["new"]["status"] == 200 and first["new"]["upstream"] == "http://www.httpbin.org:80/"
    assert first["summary"] == "mytest/app=sleep-a 访问 http://www.httpbin.org/：502 → 200"
    assert first["new"]["reason"] == str(change.deltas[0].new.reason)


def test_summary_reads_like_the_issue():
    delta = reachability_change(None, seed_policy("1"), seed_gateway()).deltas[0]

    assert str(delta.summary) == "mytest/app=sleep-a → http://www.httpbin.org/: 502 → 200"


# Properties on random valid policies ---------------------------------------------------------


def shared_gateway(*policies: EgressPolicy) -> GatewayDescription:
    """One gateway declaring every port either policy uses (the first protocol seen wins)."""
    ports = {}
    for policy in policies:
        for port in gateway_for(policy).ports:
            ports.setdefault(port.number, port)
    return GatewayDescription(name="egressgateway", ports=tuple(sorted(ports.values(), key=lambda p: p.number)))


def key(change: ReachabilityChange, swap: bool = False) -> set[tuple[object, ...]]:
    found = set()
    for d in change.deltas:
        outcomes = (d.new.key, d.old.key) if swap else (d.old.key, d.new.key)
        found.add((d.source.namespace, tuple(sorted(d.source.labels.items())), d.url, *outcomes))
    return found


@PROPERTY_SETTINGS
@given(valid_policies(max_rules=4))
def test_the_change_from_a_policy_to_itself_is_empty(policy):
    assert reachability_change(policy, policy, gateway_for(policy)).deltas == []


@PROPERTY_SETTINGS
@given(valid_policies(max_rules=3), st.none() | valid_policies(max_rules=3))
def test_swapping_old_and_new_swaps_the_outcomes(first, second):
    gateway = shared_gateway(*(p for p in (first, second) if p is not None))

    forward = reachability_change(first, second, gateway)
    backward = reachability_change(second, first, gateway)

    assert key(forward) == key(backward, swap=True)
    assert forward.counts()["allowed"] == backward.counts()["blocked"]


@PROPERTY_SETTINGS
@given(valid_policies(max_rules=3), st.none() | valid_policies(max_rules=3))
def test_every_reported_pair_really_differs_when_simulated_alone(old, new):
    gateway = shared_gateway(*(p for p in (old, new) if p is not None))
    change = reachability_change(old, new, gateway)

    meshes = [build_mesh(expand_policy(p, gateway) if p else [], gateway=gateway) for p in (old, new)]
    for delta in change.deltas:
        request = Request(delta.source.namespace, dict(delta.source.labels), delta.url)
        before, after = (mesh.simulate(request) for mesh in meshes)
        assert (before.status, before.upstream) == delta.old.key
        assert (after.status, after.upstream) == delta.new.key
        assert delta.old.key != delta.new.key
