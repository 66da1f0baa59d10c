"""Reading and writing policy documents: canonical round trips and hostile input.

Hostile inputs must fail with a clean, coded error (never an exception or a hang), quickly:
``pytest.mark.timeout(1)`` fails any of them that takes a second or more.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from policies.core.document import dump_policy, parse_policy_data, parse_policy_text, policy_to_data
from policies.core.findings import Severity
from policies.core.model import EgressPolicy
from policies.core.validation import check_policy_text
from policies.core.yamlio import MAX_INPUT_BYTES, dump_yaml_all, load_all
from policies.seed import SCENARIOS, seed_text
from tests.strategies import valid_policy_data

HEADER = "apiVersion: istio.alibabacloud.com/v1\nkind: ASMEgressTrafficPolicy\n"
LAUGHS = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n" for i in range(9)
)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_seed_text_is_already_canonical(scenario: str) -> None:
    # given a seed policy / when loaded and dumped / then the text is unchanged
    text = seed_text(f"scenario-{scenario}")
    assert dump_policy(parse_policy_text(text).policy) == text


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_seed_policies_round_trip_through_json(scenario: str) -> None:
    # given the seed policy as JSON text / when loaded / then it is the same model as from YAML
    policy = parse_policy_text(seed_text(f"scenario-{scenario}")).policy
    assert parse_policy_text(json.dumps(policy_to_data(policy))).policy == policy


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_policy_data(max_rules=8))
def test_generated_policies_round_trip_exactly(data: dict[str, Any]) -> None:
    # given a valid policy / when loaded, dumped and loaded again
    policy = EgressPolicy.model_validate(data)
    text = dump_policy(policy)
    again = parse_policy_text(text)
    # then the model is equal, the plain data is what was written, and dumping is idempotent
    assert again.findings == []
    assert again.policy == policy
    assert policy_to_data(again.policy) == data
    assert dump_policy(again.policy) == text


def test_dump_uses_the_seed_key_order_and_drops_nulls_and_status() -> None:
    # given a policy written in scrambled key order, with a null and a status block
    data = {
        "status": {"message": "ok"},
        "spec": {
            "egressRules": [
                {
                    "to": [
                        {
                            "httpsUpgrade": {"port": 443, "enabled": True},
                            "byEgressGateway": {},
                            "port": {"protocol": "HTTP", "number": 80, "name": "http"},
                            "hosts": ["a.example.com"],
                            "name": "a",
                        }
                    ],
                    "from": [{"workloadSelector": None, "namespace": "ns"}],
                }
            ],
            "byEgressGateway": {"name": "gw"},
        },
        "metadata": {"namespace": "istio-egress", "name": "egress-by-gw"},
        "kind": "ASMEgressTrafficPolicy",
        "apiVersion": "istio.alibabacloud.com/v1",
    }
    # when dumped / then keys follow the seed order, and null and status are gone
    assert dump_policy(parse_policy_data(data).policy) == (
        HEADER + "metadata:\n  name: egress-by-gw\n  namespace: istio-egress\nspec:\n  byEgressGateway:\n"
        "    name: gw\n  egressRules:\n  - from:\n    - namespace: ns\n    to:\n    - name: a\n      hosts:\n"
        "      - a.example.com\n      port:\n        name: http\n        number: 80\n        protocol: HTTP\n"
        "      byEgressGateway: {}\n      httpsUpgrade:\n        enabled: true\n        port: 443\n"
    )


def test_server_managed_metadata_is_dropped() -> None:
    text = seed_text("scenario-1").replace(
        "  namespace: istio-egress\n", "  namespace: istio-egress\n  uid: 1234\n  resourceVersion: '42'\n"
    )
    assert dump_policy(parse_policy_text(text).policy) == seed_text("scenario-1")


def test_utf8_byte_order_mark_is_accepted() -> None:
    raw = b"\xef\xbb\xbf" + seed_text("scenario-1").encode()
    assert parse_policy_text(raw).policy == parse_policy_text(seed_text("scenario-1")).policy


def test_multi_document_streams_are_read_by_load_all() -> None:
    stream = dump_yaml_all([{"a": 1}, {"b": 2}])
    assert [(d.data, d.first_line) for d in load_all(stream)] == [({"a": 1}, 1), ({"b": 2}, 3)]


HOSTILE_INPUTS = [
    ("oversized", b"a: " + b"x" * MAX_INPUT_BYTES, "EGRESS-Y01", None),
    ("binary-garbage", bytes(range(256)) * 8, "EGRESS-Y02", None),
    ("nul-byte", b"apiVersion: v1\x00\n", "EGRESS-Y02", None),
    ("control-character", "apiVersion: v1\nkind: \x07\n", "EGRESS-Y02", 2),
    ("syntax-error", HEADER + "spec: [1, 2\n", "EGRESS-Y03", 4),
    ("python-object-tag", HEADER + "spec: !!python/object/apply:os.system ['true']\n", "EGRESS-Y03", 3),
    ("python-scalar-tag", HEADER + "spec: !!python/name:os.system\n", "EGRESS-Y03", 3),
    ("billion-laughs", LAUGHS, "EGRESS-Y04", 1),
    ("scalar-alias-flood", "a: &s x\nb: [" + ", ".join(["*s"] * 250_000) + "]\n", "EGRESS-Y04", 2),
    ("deep-block-nesting", "".join("  " * i + "a:\n" for i in range(60)) + "  " * 60 + "b: 1\n", "EGRESS-Y05", 50),
    ("deep-flow-nesting", "a: " + "[" * 100_000 + "]" * 100_000, "EGRESS-Y05", 1),
    ("two-documents", seed_text("scenario-1") + "---\n" + seed_text("scenario-3"), "EGRESS-Y06", 26),
    ("empty", "", "EGRESS-Y07", None),
    ("comments-only", "# nothing here\n", "EGRESS-Y07", None),
    ("a-list", "- apiVersion: istio.alibabacloud.com/v1\n", "EGRESS-Y08", 1),
    ("a-scalar", "hello\n", "EGRESS-Y08", 1),
    ("duplicate-key", HEADER + "kind: Other\n", "EGRESS-Y09", 3),
]


@pytest.mark.timeout(1)
@pytest.mark.parametrize(("case", "raw", "code", "line"), HOSTILE_INPUTS, ids=[c[0] for c in HOSTILE_INPUTS])
def test_hostile_input_fails_fast_with_a_coded_error(case: str, raw: bytes | str, code: str, line: int | None):
    # given hostile or broken input / when parsed / then one clean error with its code and line
    parsed = parse_policy_text(raw)
    assert parsed.policy is None
    assert [(f.code, f.severity, f.line) for f in parsed.findings] == [(code, Severity.ERROR, line)]


WRONG_TYPES = [
    ("spec-is-a-list", HEADER + "spec: [1, 2]\n", [("EGRESS-S01", "spec", 3)]),
    (
        "hosts-is-a-string",
        seed_text("scenario-1").replace(
            "      hosts:\n      - www.httpbin.org\n      - httpbin.org\n", "      hosts: www.httpbin.org\n"
        ),
        [("EGRESS-S01", "spec.egressRules[0].to[0].hosts", 16)],
    ),
    (
        "port-number-is-a-string",
        seed_text("scenario-1").replace("number: 80", "number: '80'"),
        [("EGRESS-S01", "spec.egressRules[0].to[0].port.number", 21)],
    ),
    (
        "enabled-is-a-string",
        seed_text("scenario-2a").replace("enabled: true", "enabled: 'yes'"),
        [("EGRESS-S01", "spec.egressRules[0].to[0].httpsUpgrade.enabled", 26)],
    ),
    (
        "unknown-field",
        seed_text("scenario-1").replace("      byEgressGateway:\n", "      byGateway: x\n      byEgressGateway:\n"),
        [("EGRESS-S02", "spec.egressRules[0].to[0].byGateway", 23)],
    ),
    (
        "several-in-document-order",
        seed_text("scenario-1")
        .replace("number: 80\n", "number: '80'\n        extra: 1\n")
        .replace("namespace: mytest", "namespace: 7"),
        [
            ("EGRESS-S01", "spec.egressRules[0].from[0].namespace", 11),
            ("EGRESS-S01", "spec.egressRules[0].to[0].port.number", 21),
            ("EGRESS-S02", "spec.egressRules[0].to[0].port.extra", 22),
        ],
    ),
]


@pytest.mark.timeout(1)
@pytest.mark.parametrize(("case", "text", "expected"), WRONG_TYPES, ids=[c[0] for c in WRONG_TYPES])
def test_wrong_types_are_schema_errors_with_path_and_line(case: str, text: str, expected: list[Any]) -> None:
    # given a field of the wrong type / when checked / then a schema error names the field and its line
    parsed = check_policy_text(text)
    assert parsed.policy is None
    assert [(f.code, f.path, f.line) for f in parsed.findings] == expected


def test_wrong_type_message_is_specific() -> None:
    parsed = check_policy_text(seed_text("scenario-1").replace("number: 80", "number: '80'"))
    assert [f.message for f in parsed.findings] == [
        "Wrong type at spec.egressRules[0].to[0].port.number: Input should be a valid integer (got '80')."
    ]
