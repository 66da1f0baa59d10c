"""The schema helper itself: it must catch what the API server would reject, and nothing else."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from policies.core.expansion import expand_policy
from policies.seed import seed_text
from tests.fixtures.seed import seed_policy
from tests.istio_schema import (
    CEL_CHECKS,
    _go_duration_seconds,
    _KubernetesValidator,
    crd_schemas,
    schema_errors,
    to_json_schema,
)

OUR_KINDS = ("ServiceEntry", "DestinationRule", "Gateway", "VirtualService", "AuthorizationPolicy")


def _objects() -> dict[str, dict[str, Any]]:
    expanded = {obj["kind"]: obj for obj in expand_policy(seed_policy("2"))}
    expanded["AuthorizationPolicy"] = yaml.safe_load(seed_text("authorization-deny-post"))
    return expanded


def _cel_rules(node: Any) -> set[str]:
    if not isinstance(node, dict):
        return {rule for child in node for rule in _cel_rules(child)} if isinstance(node, list) else set()
    rules = {rule["rule"] for rule in node.get("x-kubernetes-validations", [])}
    for key, value in node.items():
        if key == "properties":
            rules |= {rule for child in value.values() for rule in _cel_rules(child)}
        elif key in ("items", "additionalProperties", "not", "oneOf", "anyOf", "allOf"):
            rules |= _cel_rules(value)
    return rules


def test_every_cel_rule_of_the_kinds_we_emit_is_checked() -> None:
    # given the CEL rules of every version of the kinds the expansion emits
    rules = {rule for (_, kind), schema in crd_schemas().items() if kind in OUR_KINDS for rule in _cel_rules(schema)}

    # then each one has a Python check (the file holds 22 distinct rules for these kinds)
    assert len(rules) == 22
    assert rules - set(CEL_CHECKS) == set()


@pytest.mark.parametrize("kind", OUR_KINDS)
def test_seed_objects_are_valid(kind: str) -> None:
    assert schema_errors(_objects()[kind]) == []


def _set(obj: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(obj)
    parent = changed
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return changed


CEL_PORT = "violates CEL rule '0 < self && self <= 65535'"


@pytest.mark.parametrize(
    ("kind", "path", "value", "error"),
    [
        ("ServiceEntry", ("spec", "ports", 0, "number"), 70000, f"spec.ports[0].number: {CEL_PORT}"),
        ("ServiceEntry", ("spec", "ports", 0, "targetPort"), 0, f"spec.ports[0].targetPort: {CEL_PORT}"),
        ("ServiceEntry", ("spec", "hosts", 1), "*", "spec.hosts[1]: violates CEL rule 'self != \"*\"'"),
        (
            "ServiceEntry",
            ("spec", "ports", 1, "number"),
            80,
            "spec.ports: violates CEL rule 'self.all(l1, self.exists_one(l2, l1.number == l2.number))'",
        ),
        (
            "ServiceEntry",
            ("spec", "ports", 1, "name"),
            "http",
            "spec.ports: duplicate entries for list-map key {'name': \"'http'\"}",
        ),
        ("ServiceEntry", ("spec", "resolution"), "MAGIC", "spec.resolution: 'MAGIC' is not one of"),
        ("ServiceEntry", ("spec", "bogus"), 1, "spec: Additional properties are not allowed ('bogus' was unexpected)"),
        ("ServiceEntry", ("spec", "ports", 0, "number"), "80", "spec.ports[0].number: '80' is not of type 'integer'"),
        ("ServiceEntry", ("spec", "ports", 0, "number"), 80.0, "spec.ports[0].number: 80.0 is not of type 'integer'"),
        ("ServiceEntry", ("spec", "ports", 0, "number"), True, "spec.ports[0].number: True is not of type 'integer'"),
        ("VirtualService", ("spec", "http", 0, "match", 0, "port"), -1, "spec.http[0].match[0].port: -1 is less than"),
        ("VirtualService", ("spec", "hosts"), "example.com", "spec.hosts: 'example.com' is not of type 'array'"),
        (
            "DestinationRule",
            ("spec", "trafficPolicy"),
            {"connectionPool": {"tcp": {"connectTimeout": "0.5ms"}}},
            'spec.trafficPolicy.connectionPool.tcp.connectTimeout: violates CEL rule "duration(self)',
        ),
        (
            "Gateway",
            ("spec", "servers", 0, "tls"),
            {"mode": "SIMPLE", "credentialName": "a", "credentialNames": ["b"]},
            "spec.servers[0].tls: violates CEL rule",
        ),
        (
            "AuthorizationPolicy",
            ("spec", "targetRef"),
            {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "g"},
            "spec: violates CEL rule '(has(self.selector) ? 1 : 0)",
        ),
        (
            "AuthorizationPolicy",
            ("spec", "selector", "matchLabels", "istio"),
            "egress*",
            "spec.selector.matchLabels.istio: violates CEL rule '!self.contains(\"*\")'",
        ),
        ("AuthorizationPolicy", ("spec", "action"), "REJECT", "spec.action: 'REJECT' is not one of"),
        ("Gateway", ("metadata", "name"), "Bad_Name", "metadata.name: 'Bad_Name' does not match"),
        ("Gateway", ("metadata", "labels"), {"x": "v" * 64}, "metadata.labels.x: '" + "v" * 64 + "' is too long"),
        ("Gateway", ("metadata", "uid"), "1", "metadata: Additional properties are not allowed ('uid' was unexpected)"),
        ("Gateway", ("status2",), {}, "(document): Additional properties are not allowed ('status2' was unexpected)"),
        ("Gateway", ("apiVersion",), "networking.istio.io/v2", "apiVersion/kind: no CRD schema for Gateway"),
    ],
)
def test_violations_are_reported_with_their_path(kind: str, path: tuple[Any, ...], value: Any, error: str) -> None:
    # given a valid object with one violation
    broken = _set(_objects()[kind], path, value)

    # when checked, then the violation is reported at its path
    errors = schema_errors(broken)
    assert any(message.startswith(error) for message in errors), errors


def test_a_fixed_object_is_valid_again() -> None:
    # given an object whose violation is undone
    fixed = _set(
        _set(_objects()["ServiceEntry"], ("spec", "ports", 0, "number"), 70000), ("spec", "ports", 0, "number"), 80
    )

    # then it is valid: the validator keeps no state between objects
    assert schema_errors(fixed) == []


def _validate(schema: dict[str, Any], instance: Any) -> list[str]:
    validator = _KubernetesValidator(to_json_schema(schema))
    return [error.message for error in validator.iter_errors(instance)]


@pytest.mark.parametrize(
    ("schema", "instance", "valid"),
    [
        ({"type": "string", "nullable": True}, None, True),
        ({"type": "string"}, None, False),
        ({"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}, "50%", True),
        ({"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}, 5, True),
        ({"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}, [], False),
        ({"type": "integer", "format": "int32"}, 2**31, False),
        ({"type": "integer", "format": "uint32"}, -1, False),
        ({"type": "integer", "format": "uint32", "maximum": 4294967295}, 4294967295, True),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, {"b": "x"}, False),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "x-kubernetes-preserve-unknown-fields": True},
            {"b": "x"},
            True,
        ),
        ({"type": "array", "items": {"type": "string"}, "x-kubernetes-list-type": "set"}, ["a", "a"], False),
        ({"type": "string", "x-kubernetes-validations": [{"rule": 'self != "*"'}]}, "*", False),
    ],
)
def test_openapi_is_converted_the_way_the_api_server_reads_it(
    schema: dict[str, Any], instance: Any, valid: bool
) -> None:
    assert (_validate(schema, instance) == []) is valid


def test_converted_schemas_are_valid_json_schema() -> None:
    for (_, kind), schema in crd_schemas().items():
        if kind in OUR_KINDS:
            Draft202012Validator.check_schema(to_json_schema(schema))


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("1ms", 0.001),
        ("1h2m3s", 3723.0),
        ("1.5s", 1.5),
        ("0", 0.0),
        ("-2s", -2.0),
        ("1", None),
        ("1d", None),
        ("", None),
    ],
)
def test_go_durations_are_parsed_like_go(text: str, seconds: float | None) -> None:
    assert _go_duration_seconds(text) == seconds
