"""Expansion of a policy into Istio objects: grouping, naming, settings, errors, properties.

The exact YAML of the seed scenarios is pinned by ``test_expansion_golden``; this module checks
the rules behind it on small hand-made policies, and the invariants on random valid policies.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies.core.authorization import seed_deny_post_rule
from policies.core.expansion import (
    APPLY_ORDER,
    ExpansionError,
    expand_deletion,
    expand_policy,
    managed_label_selector,
)
from policies.core.findings import Severity
from policies.core.gateway import TranslationSettings, seed_gateway
from policies.core.model import EgressPolicy
from policies.core.names import truncate_name
from policies.core.validation import validate_policy
from policies.core.yamlio import dump_yaml_all
from tests.fixtures.seed import seed_policy
from tests.istio_schema import assert_schema_valid
from tests.strategies import valid_policies

LABELS = {
    "app.kubernetes.io/managed-by": "asm-egress-console",
    "egress.console/policy": "egress-by-egressgateway",
    "egress.console/policy-namespace": "istio-egress",
}
GSVC = "egressgateway.istio-system.svc.cluster.local"
SLEEP_A = {"namespace": "mytest", "workloadSelector": {"app": "sleep-a"}}


def entry(name: str, hosts: list[str], number: int, protocol: str, gateway_port: int | None = None, **extra: Any):
    """One to-entry as plain data."""
    return {
        "name": name,
        "hosts": hosts,
        "port": {"name": protocol.lower(), "number": number, "protocol": protocol},
        "byEgressGateway": {} if gateway_port is None else {"port": gateway_port},
        **extra,
    }


def policy(
    *rules: dict[str, Any], name: str = "egress-by-egressgateway", gateway: str = "egressgateway"
) -> EgressPolicy:
    """A policy from rules given as ``{"from": [...], "to": [...]}``."""
    return EgressPolicy.model_validate(
        {
            "apiVersion": "istio.alibabacloud.com/v1",
            "kind": "ASMEgressTrafficPolicy",
            "metadata": {"name": name, "namespace": "istio-egress"},
            "spec": {"byEgressGateway": {"name": gateway}, "egressRules": list(rules)},
        }
    )


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The objects of one kind, in output order."""
    return [obj for obj in objects if obj["kind"] == kind]


def named(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The one object called ``name``."""
    matches = [obj for obj in objects if obj["metadata"]["name"] == name]
    assert len(matches) == 1, [obj["metadata"]["name"] for obj in objects]
    return matches[0]


@pytest.mark.parametrize("scenario", ["1", "2", "2a", "3", "4"])
def test_objects_come_out_in_apply_order_with_managed_labels(scenario: str) -> None:
    # given a seed policy and the seed's DENY rule
    # when it is expanded
    objects = expand_policy(seed_policy(scenario), authorization=[seed_deny_post_rule()])

    # then kinds follow the apply order, AuthorizationPolicy last, and every object is labelled
    ranks = [APPLY_ORDER.index(obj["kind"]) for obj in objects]
    assert ranks == sorted(ranks)
    assert objects[-1]["kind"] == "AuthorizationPolicy"
    assert all(obj["metadata"]["labels"] == LABELS for obj in objects)
    assert all(list(obj) == ["apiVersion", "kind", "metadata", "spec"] for obj in objects)


def test_entries_with_the_same_hosts_share_one_service_entry_named_after_the_first() -> None:
    # given two entries whose host lists are equal after sorting, and one with other hosts
    rule = {
        "from": [{"namespace": "mytest"}],
        "to": [
            entry("first", ["a.example.com", "b.example.com"], 80, "HTTP", 80),
            entry("other", ["c.example.com"], 80, "HTTP", 80),
            entry("second", ["b.example.com", "a.example.com"], 443, "TLS", 444),
        ],
    }

    # when expanded
    objects = expand_policy(policy(rule))

    # then two groups: "first" (with both ports, first entry's host order) and "other"
    entries = by_kind(objects, "ServiceEntry")
    assert [obj["metadata"]["name"] for obj in entries] == [
        "egress-by-egressgateway-first",
        "egress-by-egressgateway-other",
    ]
    assert entries[0]["spec"]["hosts"] == ["a.example.com", "b.example.com"]
    assert [port["number"] for port in entries[0]["spec"]["ports"]] == [80, 443]
    mesh = named(objects, "egress-by-egressgateway-first-mesh")["spec"]
    assert mesh["tls"][0]["match"][0]["sniHosts"] == ["a.example.com", "b.example.com"]
    assert [obj["metadata"]["name"] for obj in by_kind(objects, "VirtualService")] == [
        "egress-by-egressgateway-first-mesh",
        "egress-by-egressgateway-first-gw",
        "egress-by-egressgateway-other-mesh",
        "egress-by-egressgateway-other-gw",
    ]


def test_a_whole_namespace_source_gets_no_catch_all() -> None:
    # given one rule for a whole namespace (no workloadSelector)
    rule = {"from": [{"namespace": "mytest"}], "to": [entry("web", ["example.com"], 443, "TLS", 444)]}

    # when expanded
    objects = expand_policy(policy(rule))

    # then only the allow route and its subset exist
    mesh = named(objects, "egress-by-egressgateway-web-mesh")["spec"]
    assert mesh["tls"] == [
        {
            "match": [{"gateways": ["mesh"], "port": 443, "sniHosts": ["example.com"], "sourceNamespace": "mytest"}],
            "route": [{"destination": {"host": GSVC, "subset": "web", "port": {"number": 444}}}],
        }
    ]
    subsets = by_kind(objects, "DestinationRule")[0]["spec"]["subsets"]
    assert [subset["name"] for subset in subsets] == ["web"]


def test_entries_of_one_group_from_different_namespaces_each_get_a_catch_all() -> None:
    # given one host group used by two rules with different namespaces and no selectors
    rules = (
        {"from": [{"namespace": "team-a"}], "to": [entry("web", ["example.com"], 80, "HTTP", 80)]},
        {"from": [{"namespace": "team-b"}], "to": [entry("db", ["example.com"], 5432, "TCP", 5432)]},
    )

    # when expanded
    objects = expand_policy(policy(*rules))

    # then team-b cannot use port 80 and team-a cannot use 5432: each port ends in a catch-all
    mesh = named(objects, "egress-by-egressgateway-web-mesh")["spec"]
    assert mesh["exportTo"] == ["team-a", "team-b"]
    assert mesh["http"][1] == {
        "name": "deny-unselected",
        "match": [{"gateways": ["mesh"], "port": 80}],
        "directResponse": {"status": 502},
    }
    assert mesh["tcp"][1] == {
        "match": [{"gateways": ["mesh"], "port": 5432}],
        "route": [{"destination": {"host": GSVC, "subset": "db-deny", "port": {"number": 5432}}}],
    }


def test_duplicate_sources_give_one_match_each() -> None:
    # given a rule listing the same source twice and a second namespace
    rule = {"from": [SLEEP_A, SLEEP_A, {"namespace": "other"}], "to": [entry("web", ["example.com"], 80, "HTTP", 80)]}

    # when expanded
    matches = named(expand_policy(policy(rule)), "egress-by-egressgateway-web-mesh")["spec"]["http"][0]["match"]

    # then one match per distinct source, in document order, without match-level gateways (Istio would
    # ignore the source fields of an HTTP match that lists gateways)
    assert matches == [
        {"port": 80, "sourceNamespace": "mytest", "sourceLabels": {"app": "sleep-a"}},
        {"port": 80, "sourceNamespace": "other"},
    ]


def test_http_entries_of_one_group_sharing_a_gateway_port_are_told_apart_by_a_header() -> None:
    # given two HTTP entries with the same hosts on ports 80 and 8080, both via gateway port 80
    rule = {
        "from": [{"namespace": "mytest"}],
        "to": [entry("plain", ["example.com"], 80, "HTTP", 80), entry("alt", ["example.com"], 8080, "HTTP", 80)],
    }

    # when expanded
    objects = expand_policy(policy(rule))

    # then the sidecar sets a header naming the entry and the gateway routes on it, then drops it
    mesh = named(objects, "egress-by-egressgateway-plain-mesh")["spec"]["http"]
    assert [route["headers"] for route in mesh] == [
        {"request": {"set": {"x-egress-console-target": "plain"}}},
        {"request": {"set": {"x-egress-console-target": "alt"}}},
    ]
    gateway_routes = named(objects, "egress-by-egressgateway-plain-gw")["spec"]["http"]
    assert gateway_routes[1] == {
        "name": "to-external",
        "match": [
            {
                "gateways": ["istio-egress/egress-by-egressgateway"],
                "port": 80,
                "headers": {"x-egress-console-target": {"exact": "alt"}},
            }
        ],
        "route": [{"destination": {"host": "example.com", "port": {"number": 8080}}}],
        "headers": {"request": {"remove": ["x-egress-console-target"]}},
    }


def test_long_names_are_cut_with_a_hash_of_the_full_name() -> None:
    # given a long policy name and a long entry name
    long_entry = "a-very-long-target-name-that-fills-most-of-a-label"
    objects = expand_policy(policy({"from": [SLEEP_A], "to": [entry(long_entry, ["example.com"], 80, "HTTP", 80)]}))

    # then every name fits 63 characters and follows names.truncate_name
    full = f"egress-by-egressgateway-{long_entry}-mesh"
    assert named(objects, truncate_name(full))["kind"] == "VirtualService"
    assert len(truncate_name(full)) == 63
    assert all(len(obj["metadata"]["name"]) <= 63 for obj in objects)


def test_gateway_settings_move_the_gateway_side() -> None:
    # given a gateway namespace, Service host and pod selector of a plain Istio mesh
    custom = TranslationSettings(
        gateway_namespace="istio-gateways",
        gateway_service_host="egress.istio-gateways.svc.cluster.local",
        gateway_selector={"app": "istio-egressgateway"},
    )

    # when the scenario-1 policy is expanded with them
    objects = expand_policy(seed_policy("1"), settings=custom)

    # then the gateway DR lives there, the gateway side is exported there, pods are selected by it
    rule = by_kind(objects, "DestinationRule")[0]
    assert (rule["metadata"]["namespace"], rule["spec"]["host"]) == (
        "istio-gateways",
        "egress.istio-gateways.svc.cluster.local",
    )
    assert by_kind(objects, "Gateway")[0]["spec"]["selector"] == {"app": "istio-egressgateway"}
    assert by_kind(objects, "ServiceEntry")[0]["spec"]["exportTo"] == ["mytest", "istio-gateways"]
    assert named(objects, "egress-by-egressgateway-httpbin-service-http-gw")["spec"]["exportTo"] == ["istio-gateways"]


def test_asm_auto_ports_follow_asm_allocation_in_document_order() -> None:
    # given entries without gateway ports of each protocol family, and one explicit port
    rule = {
        "from": [{"namespace": "mytest"}],
        "to": [
            entry("web", ["web.example.com"], 80, "HTTP"),
            entry("rpc", ["rpc.example.com"], 9000, "GRPC"),
            entry("db", ["db.example.com"], 5432, "TCP"),
            entry("api", ["api.example.com"], 443, "TLS"),
            entry("fixed", ["fixed.example.com"], 443, "HTTPS", 444),
        ],
    }

    # when expanded with portDefault asmAuto
    objects = expand_policy(policy(rule), settings=TranslationSettings(port_default="asmAuto"))

    # then gateway servers use 10000, 50051, 10001, 10002 and the explicit 444
    servers = by_kind(objects, "Gateway")[0]["spec"]["servers"]
    assert [server["port"]["name"] for server in servers] == [
        "https-10000-web",
        "https-50051-rpc",
        "tls-10001-db",
        "tls-10002-api",
        "tls-444-fixed",
    ]


def test_v1beta1_setting_changes_every_api_version() -> None:
    # when scenario 2 and the seed DENY rule are expanded for an Istio older than 1.22
    objects = expand_policy(
        seed_policy("2"), settings=TranslationSettings(api_version="v1beta1"), authorization=[seed_deny_post_rule()]
    )

    # then networking and security objects use v1beta1
    assert sorted({obj["apiVersion"] for obj in objects}) == [
        "networking.istio.io/v1beta1",
        "security.istio.io/v1beta1",
    ]


def test_deletion_is_the_empty_desired_state_found_by_the_label_selector() -> None:
    # when a policy is deleted
    # then nothing is desired, and the selector finds what the expansion labelled
    assert expand_deletion(seed_policy("1")) == []
    assert managed_label_selector("egress-by-egressgateway") == (
        "app.kubernetes.io/managed-by=asm-egress-console,egress.console/policy=egress-by-egressgateway"
    )
    assert managed_label_selector("egress-by-egressgateway", "istio-egress").endswith(
        ",egress.console/policy-namespace=istio-egress"
    )


def _without(path: tuple[Any, ...]) -> dict[str, Any]:
    data = seed_policy("2").model_dump(by_alias=True, exclude_none=True)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    del parent[path[-1]]
    return data


@pytest.mark.parametrize(
    ("path", "error_path"),
    [
        (("metadata", "name"), "metadata.name"),
        (("metadata", "namespace"), "metadata.namespace"),
        (("spec", "byEgressGateway", "name"), "spec.byEgressGateway.name"),
        (("spec", "egressRules", 0, "from"), "spec.egressRules[0].from"),
        (("spec", "egressRules", 0, "from", 0, "namespace"), "spec.egressRules[0].from[0].namespace"),
        (("spec", "egressRules", 0, "to", 1, "name"), "spec.egressRules[0].to[1].name"),
        (("spec", "egressRules", 0, "to", 1, "hosts"), "spec.egressRules[0].to[1].hosts"),
        (("spec", "egressRules", 0, "to", 1, "port"), "spec.egressRules[0].to[1].port"),
        (("spec", "egressRules", 0, "to", 1, "port", "protocol"), "spec.egressRules[0].to[1].port.protocol"),
        (("spec", "egressRules", 0, "to", 1, "port", "name"), "spec.egressRules[0].to[1].port.name"),
        (("spec", "egressRules", 0, "to", 0, "httpsUpgrade", "port"), "spec.egressRules[0].to[0].httpsUpgrade.port"),
    ],
)
def test_missing_required_fields_stop_the_expansion(path: tuple[Any, ...], error_path: str) -> None:
    # given scenario 2 without one required field
    broken = EgressPolicy.model_validate(_without(path))

    # when expanded, then it fails with the field's path instead of producing objects
    with pytest.raises(ExpansionError) as raised:
        expand_policy(broken)
    assert (raised.value.code, raised.value.path) == ("EGRESS-X01", error_path)
    assert raised.value.as_finding().severity is Severity.ERROR


def test_an_empty_rule_list_stops_the_expansion() -> None:
    with pytest.raises(ExpansionError) as raised:
        expand_policy(policy())
    assert (raised.value.code, raised.value.path) == ("EGRESS-X01", "spec.egressRules")


@pytest.mark.parametrize(
    ("to", "code", "path"),
    [
        (
            [
                entry("a", ["x.example.com", "y.example.com"], 80, "HTTP", 80),
                entry("b", ["y.example.com"], 443, "TLS", 444),
            ],
            "EGRESS-X02",
            "spec.egressRules[0].to[1].hosts",
        ),
        (
            [entry("a", ["x.example.com"], 80, "HTTP", 80), entry("b", ["x.example.com"], 80, "TCP", 81)],
            "EGRESS-X03",
            "spec.egressRules[0].to[1].port.number",
        ),
        (
            [entry("a", ["x.example.com"], 443, "TLS", 444), entry("b", ["x.example.com"], 8443, "TLS", 444)],
            "EGRESS-X04",
            "spec.egressRules[0].to[1].byEgressGateway.port",
        ),
        (
            [entry("a", ["x.example.com"], 443, "HTTPS", 444, httpsUpgrade={"enabled": True, "port": 8443})],
            "EGRESS-X05",
            "spec.egressRules[0].to[0].httpsUpgrade",
        ),
        (
            [entry("a", ["x.example.com"], 27017, "MONGO", 27017)],
            "EGRESS-X07",
            "spec.egressRules[0].to[0].port.protocol",
        ),
        (
            [entry("a", ["x.example.com"], 80, "HTTP", 80), entry("a", ["y.example.com"], 80, "HTTP", 80)],
            "EGRESS-X08",
            "spec.egressRules[0].to[1].name",
        ),
    ],
)
def test_contradictory_entries_stop_the_expansion(to: list[dict[str, Any]], code: str, path: str) -> None:
    with pytest.raises(ExpansionError) as raised:
        expand_policy(policy({"from": [{"namespace": "mytest"}], "to": to}))
    assert (raised.value.code, raised.value.path) == (code, path)


def test_the_gateway_description_names_the_real_gateway() -> None:
    # given the seed's slip: the policy says egressgateway, the console knows egressgateway-a
    objects = expand_policy(seed_policy("1"), gateway=seed_gateway("egressgateway-a"))

    # then the Service host, the pod selector and the route name follow the description
    assert by_kind(objects, "DestinationRule")[0]["spec"]["host"] == "egressgateway-a.istio-system.svc.cluster.local"
    assert by_kind(objects, "Gateway")[0]["spec"]["selector"] == {"istio": "egressgateway-a"}
    mesh = named(objects, "egress-by-egressgateway-httpbin-service-http-mesh")["spec"]
    assert mesh["http"][0]["name"] == "via-egressgateway-a"


SETTINGS = st.builds(
    TranslationSettings,
    gateway_namespace=st.sampled_from(["istio-system", "istio-gateways"]),
    port_default=st.sampled_from(["samePort", "asmAuto"]),
    upgrade_style=st.sampled_from(["targetPort", "gatewayPort"]),
    api_version=st.sampled_from(["v1", "v1beta1"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated=valid_policies(max_rules=20), translation=SETTINGS)
def test_random_valid_policies_expand_to_schema_valid_objects(
    generated: EgressPolicy, translation: TranslationSettings
) -> None:
    # given a random policy that is valid under these settings (asmAuto can make ports collide)
    errors = [f for f in validate_policy(generated, settings=translation) if f.severity is Severity.ERROR]
    if errors:
        return

    # when expanded
    objects = expand_policy(generated, settings=translation)

    # then every object is schema-valid, names fit, kinds are in apply order, no YAML aliases
    for obj in objects:
        assert_schema_valid(obj)
        assert len(obj["metadata"]["name"]) <= 63
    ranks = [APPLY_ORDER.index(obj["kind"]) for obj in objects]
    assert ranks == sorted(ranks)
    assert "*id0" not in dump_yaml_all(objects)
    _assert_every_entry_is_wired(generated, objects)


def _assert_every_entry_is_wired(generated: EgressPolicy, objects: list[dict[str, Any]]) -> None:
    """Each to-entry has one gateway server, one subset, and an SE port visible to its namespaces."""
    entries = generated.iter_targets()
    servers = by_kind(objects, "Gateway")[0]["spec"]["servers"]
    subsets = {subset["name"] for subset in by_kind(objects, "DestinationRule")[0]["spec"]["subsets"]}
    assert len(servers) == len(entries)
    for _r, _t, rule, to in entries:
        assert to.name in subsets
        service_entry = next(
            obj for obj in by_kind(objects, "ServiceEntry") if set(obj["spec"]["hosts"]) == set(to.hosts)
        )
        assert to.port.number in {port["number"] for port in service_entry["spec"]["ports"]}
        assert {source.namespace for source in rule.from_} <= set(service_entry["spec"]["exportTo"])


def test_asm_auto_without_a_free_stream_port_stops_the_expansion() -> None:
    # given more TCP entries without a gateway port than ASM's range 10001-20000 holds
    to = [entry(f"t{i}", [f"h{i}.example.com"], 5432, "TCP") for i in range(10_001)]

    # when expanded with portDefault asmAuto, then the first entry without a port is reported
    with pytest.raises(ExpansionError) as raised:
        expand_policy(
            policy({"from": [{"namespace": "mytest"}], "to": to}), settings=TranslationSettings(port_default="asmAuto")
        )
    assert (raised.value.code, raised.value.path) == (
        "EGRESS-X06",
        "spec.egressRules[0].to[10000].byEgressGateway.port",
    )
