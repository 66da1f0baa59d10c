"""The generated CRD: structural schema, versions, columns, and agreement with the model."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings

from policies.core.crd import crd_manifest, openapi_schema
from policies.core.document import policy_to_data
from policies.core.model import EgressPolicy
from policies.core.yamlio import dump_yaml, load_one
from policies.seed import SCENARIOS, seed_text
from tests.strategies import valid_policy_data

FORBIDDEN_IN_STRUCTURAL = ("$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "default", "title")


def schema_nodes(node: dict[str, Any], path: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every schema node with its path, depth first."""
    nodes = [(path, node)]
    for name, child in node.get("properties", {}).items():
        nodes += schema_nodes(child, f"{path}.{name}")
    if isinstance(node.get("additionalProperties"), dict):
        nodes += schema_nodes(node["additionalProperties"], f"{path}{{*}}")
    if "items" in node:
        nodes += schema_nodes(node["items"], f"{path}[]")
    return nodes


def test_every_schema_node_is_typed_and_structural() -> None:
    # given the generated schema / when every node is inspected
    problems = [
        (path, keyword)
        for path, node in schema_nodes(openapi_schema())
        for keyword in ("type", *FORBIDDEN_IN_STRUCTURAL)
        if (keyword == "type") != (keyword in node)
    ]
    # then each node has a type and none uses a keyword a structural schema forbids
    assert problems == []


def test_properties_and_additional_properties_never_mix() -> None:
    assert [
        p for p, node in schema_nodes(openapi_schema()) if "properties" in node and "additionalProperties" in node
    ] == []


def test_unknown_fields_are_preserved_only_in_status() -> None:
    preserved = [
        path for path, node in schema_nodes(openapi_schema()) if node.get("x-kubernetes-preserve-unknown-fields")
    ]
    assert preserved == [".status"]


def test_maps_are_additional_properties_of_their_value_type() -> None:
    nodes = dict(schema_nodes(openapi_schema()))
    assert nodes[".spec.egressRules[].from[].workloadSelector"]["additionalProperties"] == {"type": "string"}
    assert nodes[".status.autoAllocatedGatewayPorts"]["additionalProperties"] == {"type": "integer"}


def test_field_descriptions_come_from_the_model() -> None:
    nodes = dict(schema_nodes(openapi_schema()))
    assert nodes[".spec.egressRules[].to[].port.number"] == {
        "type": "integer",
        "description": "Port number on the external host, 1-65535.",
    }


def test_metadata_is_left_to_the_api_server() -> None:
    assert openapi_schema()["properties"]["metadata"] == {"type": "object"}


def test_manifest_serves_v1_and_v1beta1_and_stores_v1() -> None:
    spec = crd_manifest()["spec"]
    assert (spec["group"], spec["scope"], spec["names"]) == (
        "istio.alibabacloud.com",
        "Namespaced",
        {
            "kind": "ASMEgressTrafficPolicy",
            "listKind": "ASMEgressTrafficPolicyList",
            "plural": "asmegresstrafficpolicies",
            "singular": "asmegresstrafficpolicy",
        },
    )
    assert [(v["name"], v["served"], v["storage"], v["subresources"]) for v in spec["versions"]] == [
        ("v1", True, True, {"status": {}}),
        ("v1beta1", True, False, {"status": {}}),
    ]
    assert crd_manifest()["metadata"] == {"name": "asmegresstrafficpolicies.istio.alibabacloud.com"}


def test_printer_columns_match_asm() -> None:
    columns = crd_manifest()["spec"]["versions"][0]["additionalPrinterColumns"]
    assert [(c["name"], c["type"], c["jsonPath"]) for c in columns] == [
        ("ByEgressGateway", "string", ".spec.byEgressGateway.name"),
        ("status", "string", ".status.message"),
        ("Age", "date", ".metadata.creationTimestamp"),
    ]


def test_yaml_of_the_manifest_reads_back_with_the_hardened_loader() -> None:
    # NB: the hardened loader refuses many aliases; the dump must therefore not share subtrees.
    manifest = crd_manifest()
    assert load_one(dump_yaml(manifest)).data == manifest


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_seed_policies_validate_against_the_schema(scenario: str) -> None:
    document = load_one(seed_text(f"scenario-{scenario}")).data
    jsonschema.validate(document, openapi_schema())


def test_status_with_extra_fields_validates() -> None:
    document = {
        **load_one(seed_text("scenario-4")).data,
        "status": {
            "status": "Active",
            "autoAllocatedGatewayPorts": {"www.alibabacloud.com-443": 10001},
            "conditions": [],
        },
    }
    jsonschema.validate(document, openapi_schema())


def test_schema_rejects_a_wrongly_typed_port() -> None:
    document = load_one(seed_text("scenario-1").replace("number: 80", "number: '80'")).data
    with pytest.raises(jsonschema.ValidationError) as caught:
        jsonschema.validate(document, openapi_schema())
    assert (list(caught.value.absolute_path), caught.value.validator) == (
        ["spec", "egressRules", 0, "to", 0, "port", "number"],
        "type",
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_policy_data(max_rules=5))
def test_generated_policies_validate_against_the_schema(data: dict[str, Any]) -> None:
    jsonschema.validate(data, openapi_schema())
    jsonschema.validate(policy_to_data(EgressPolicy.model_validate(data)), openapi_schema())
