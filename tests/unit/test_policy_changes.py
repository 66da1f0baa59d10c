"""Semantic summary of a policy change: stable kinds, JSON paths and readable sentences."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from policies.core.document import policy_to_data
from policies.core.model import EgressPolicy
from policies.core.policy_changes import PolicyChange, policy_changes
from tests.fixtures.seed import seed_policy
from tests.strategies import valid_policies

PROPERTY_SETTINGS = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def summary(changes: list[PolicyChange]) -> list[tuple[str, str, str]]:
    return [(change.kind, change.path, change.message) for change in changes]


def edited(scenario: str, edit: Any) -> EgressPolicy:
    data = policy_to_data(seed_policy(scenario))
    edit(data)
    return EgressPolicy.model_validate(data)


def rule(data: dict[str, Any], index: int = 0) -> dict[str, Any]:
    return data["spec"]["egressRules"][index]


def test_scenario_1_to_2_turns_the_upgrade_on_and_adds_the_https_entry():
    assert summary(policy_changes(seed_policy("1"), seed_policy("2"))) == [
        (
            "upgrade_enabled",
            "spec.egressRules[0].to[0].httpsUpgrade",
            "rule 1: httpsUpgrade turned on for www.httpbin.org:80 (httpbin-service-http, to port 443)",
        ),
        (
            "entry_added",
            "spec.egressRules[0].to[1]",
            "rule 1: entry httpbin-service-https added (www.httpbin.org, httpbin.org, port 443)",
        ),
    ]


def test_against_the_empty_policy_every_rule_is_added():
    assert summary(policy_changes(None, seed_policy("1"))) == [
        ("rule_added", "spec.egressRules[0]", "rule 1 added: mytest/app=sleep-a → httpbin-service-http"),
    ]


def test_deleting_the_policy_removes_every_rule():
    assert summary(policy_changes(seed_policy("3"), None)) == [
        ("rule_removed", "spec.egressRules[0]", "rule 1 removed: mytest/app=sleep-a → httpbin-service-https"),
    ]


def test_a_rule_keeping_its_sources_is_the_same_rule_with_other_entries():
    assert summary(policy_changes(seed_policy("3"), seed_policy("4"))) == [
        (
            "entry_added",
            "spec.egressRules[0].to[0]",
            "rule 1: entry aliyun-service-tcp added (www.alibabacloud.com, port 443)",
        ),
        ("entry_removed", "spec.egressRules[0].to[0]", "rule 1: entry httpbin-service-https removed"),
    ]


def test_a_rule_sharing_neither_entries_nor_sources_is_removed_and_another_added():
    def replace_rule(data):
        data["spec"]["egressRules"] = [{"from": [{"namespace": "team-b"}], "to": rule(data)["to"][:1]}]
        rule(data)["to"][0]["name"] = "other"

    changes = policy_changes(seed_policy("3"), edited("3", replace_rule))

    assert [change.kind for change in changes] == ["rule_added", "rule_removed"]


@pytest.mark.parametrize("scenario", ["1", "2", "2a", "3", "4"])
def test_a_revision_against_itself_has_no_changes(scenario):
    assert policy_changes(seed_policy(scenario), seed_policy(scenario)) == []


def add_source(data):
    rule(data)["from"].append({"namespace": "mytest", "workloadSelector": {"app": "sleep-b"}})


def drop_source(data):
    rule(data)["from"][0] = {"namespace": "mytest"}


def add_host(data):
    rule(data)["to"][1]["hosts"].append("api.example.com")


def drop_host(data):
    rule(data)["to"][1]["hosts"].remove("www.httpbin.org")


def change_port(data):
    rule(data)["to"][1]["port"]["number"] = 8443


def change_protocol(data):
    rule(data)["to"][1]["port"]["protocol"] = "TLS"


def change_gateway_port(data):
    rule(data)["to"][1]["byEgressGateway"]["port"] = 445


def default_gateway_port(data):
    rule(data)["to"][1]["byEgressGateway"] = {}


def turn_upgrade_off(data):
    rule(data)["to"][0]["httpsUpgrade"]["enabled"] = False


def change_upgrade_port(data):
    rule(data)["to"][0]["httpsUpgrade"]["port"] = 8443


def rename_entry(data):
    rule(data)["to"][1]["name"] = "httpbin-tls"


def name_rule(data):
    rule(data)["name"] = "httpbin"


def change_gateway(data):
    data["spec"]["byEgressGateway"]["name"] = "egressgateway-b"


def add_label(data):
    data["metadata"]["labels"] = {"team": "platform"}


def move_entry(data):
    entry = rule(data)["to"].pop(1)
    data["spec"]["egressRules"].append({"from": [{"namespace": "team-b"}], "to": [entry]})


E1 = "spec.egressRules[0].to[1]"


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            add_source,
            [("source_added", "spec.egressRules[0].from", "source mytest/app=sleep-b added to rule 1")],
        ),
        (
            drop_source,
            [
                ("source_added", "spec.egressRules[0].from", "source mytest/* added to rule 1"),
                ("source_removed", "spec.egressRules[0].from", "source mytest/app=sleep-a removed from rule 1"),
            ],
        ),
        (add_host, [("host_added", f"{E1}.hosts", "rule 1: host api.example.com added to httpbin-service-https")]),
        (
            drop_host,
            [("host_removed", f"{E1}.hosts", "rule 1: host www.httpbin.org removed from httpbin-service-https")],
        ),
        (change_port, [("port_changed", f"{E1}.port.number", "rule 1: httpbin-service-https port 443 → 8443")]),
        (
            change_protocol,
            [("protocol_changed", f"{E1}.port.protocol", "rule 1: httpbin-service-https protocol HTTPS → TLS")],
        ),
        (
            change_gateway_port,
            [
                (
                    "gateway_port_changed",
                    f"{E1}.byEgressGateway.port",
                    "rule 1: httpbin-service-https gateway port 444 → 445",
                )
            ],
        ),
        (
            default_gateway_port,
            [
                (
                    "gateway_port_changed",
                    f"{E1}.byEgressGateway.port",
                    "rule 1: httpbin-service-https gateway port 444 → —",
                )
            ],
        ),
        (
            turn_upgrade_off,
            [
                (
                    "upgrade_disabled",
                    "spec.egressRules[0].to[0].httpsUpgrade",
                    "rule 1: httpsUpgrade turned off for www.httpbin.org:80 (httpbin-service-http)",
                )
            ],
        ),
        (
            change_upgrade_port,
            [
                (
                    "upgrade_port_changed",
                    "spec.egressRules[0].to[0].httpsUpgrade.port",
                    "rule 1: httpbin-service-http httpsUpgrade port 443 → 8443",
                )
            ],
        ),
        (
            rename_entry,
            [("entry_renamed", f"{E1}.name", "rule 1: entry httpbin-service-https renamed to httpbin-tls")],
        ),
        (name_rule, [("rule_renamed", "spec.egressRules[0].name", "rule 1 (httpbin) renamed: — → httpbin")]),
        (
            change_gateway,
            [
                (
                    "gateway_changed",
                    "spec.byEgressGateway.name",
                    "egress gateway egressgateway → egressgateway-b",
                )
            ],
        ),
        (add_label, [("field_added", "metadata.labels", 'metadata.labels set to {"team": "platform"}')]),
        (
            move_entry,
            [
                ("rule_added", "spec.egressRules[1]", "rule 2 added: team-b/* → httpbin-service-https"),
                (
                    "entry_moved",
                    "spec.egressRules[1].to[0]",
                    "entry httpbin-service-https moved from rule 1 to rule 2",
                ),
            ],
        ),
    ],
    ids=lambda value: value.__name__ if callable(value) else "",
)
def test_each_edit_reads_as_one_sentence_of_its_kind(edit, expected):
    assert summary(policy_changes(seed_policy("2"), edited("2", edit))) == expected


def test_an_entry_moved_between_existing_rules_is_one_move():
    def split_then_move(data):
        entry = rule(data)["to"].pop(1)
        data["spec"]["egressRules"].append({"from": [{"namespace": "team-b"}], "to": [entry]})

    two_rules = edited("2", split_then_move)
    data = policy_to_data(two_rules)
    rule(data, 1)["to"].append(rule(data, 0)["to"].pop(0))
    rule(data, 0)["to"].append({**rule(data, 1)["to"][0], "name": "kept"})
    moved = EgressPolicy.model_validate(data)

    assert [change.kind for change in policy_changes(two_rules, moved)] == ["entry_added", "entry_moved"]


def test_a_selector_written_in_another_key_order_is_the_same_source():
    def two_labels(data):
        rule(data)["from"][0]["workloadSelector"] = {"app": "sleep-a", "version": "v1"}

    def reordered_and_a_host_added(data):
        rule(data)["from"][0]["workloadSelector"] = {"version": "v1", "app": "sleep-a"}
        add_host(data)

    changes = policy_changes(edited("2", two_labels), edited("2", reordered_and_a_host_added))

    assert [change.kind for change in changes] == ["host_added"]


def test_as_dict_is_the_api_shape_and_renders_with_the_given_translator():
    zh = {"rule {number}": "规则 {number}", "source {item} added to {rule}": "来源 {item} 已加入{rule}"}

    (change,) = policy_changes(seed_policy("2"), edited("2", add_source))

    assert change.as_dict(translate=lambda template: zh.get(template, template)) == {
        "kind": "source_added",
        "path": "spec.egressRules[0].from",
        "message": "来源 mytest/app=sleep-b 已加入规则 1",
        "old": None,
        "new": {"namespace": "mytest", "workloadSelector": {"app": "sleep-b"}},
    }


def test_renumbered_rules_are_paired_by_their_entries_not_their_position():
    def prepend_rule(data):
        new_rule = copy.deepcopy(rule(data))
        for index, entry in enumerate(new_rule["to"]):
            entry["name"] = f"other-{index}"
            entry["hosts"] = [f"other-{index}.example.com"]
        data["spec"]["egressRules"].insert(0, new_rule)

    changes = policy_changes(seed_policy("2"), edited("2", prepend_rule))

    assert summary(changes) == [
        (
            "rule_added",
            "spec.egressRules[0]",
            "rule 1 added: mytest/app=sleep-a → other-0, other-1",
        )
    ]


@PROPERTY_SETTINGS
@given(valid_policies(max_rules=6))
def test_a_policy_against_itself_has_no_changes(policy):
    assert policy_changes(policy, policy) == []


@PROPERTY_SETTINGS
@given(valid_policies(max_rules=4), valid_policies(max_rules=4))
def test_every_change_has_a_kind_a_path_and_an_english_sentence(old, new):
    for change in policy_changes(old, new):
        data = change.as_dict()
        assert data["kind"] and data["path"] and data["message"]
        assert "{" not in data["message"].replace('{"', "")  # NB: no placeholder left unfilled


@PROPERTY_SETTINGS
@given(valid_policies(max_rules=4))
def test_against_the_empty_policy_only_rules_are_added(policy):
    changes = policy_changes(None, policy)

    assert [change.kind for change in changes] == ["rule_added"] * len(policy.spec.egressRules)
    assert [change.kind for change in policy_changes(policy, None)] == ["rule_removed"] * len(policy.spec.egressRules)
