"""The preview's fast YAML writer must give exactly PyYAML's text, and the right line per path."""

from __future__ import annotations

import pytest

from policies.core.document import policy_to_data
from policies.core.expansion import expand_policy
from policies.core.gateway import seed_gateway
from policies.core.yamlio import dump_yaml, load_one
from policies.fastyaml import dump_with_lines, fast_dump, line_of
from tests.fixtures.seed import seed_policy

TRICKY = ["80", "*", "", "yes", "null", "a: b", "#x", "中文", "-", "true", " lead", "x" * 70, "a " * 40, "multi\nline"]


def test_seed_policies_and_their_istio_objects_match_pyyaml(seed_scenario):
    # given
    policy = seed_policy(seed_scenario)
    documents = [policy_to_data(policy), *expand_policy(policy, seed_gateway())]
    # then
    for document in documents:
        assert fast_dump(document) == dump_yaml(document)


@pytest.mark.parametrize("value", TRICKY)
def test_tricky_scalars_match_pyyaml(value):
    # given
    document = {"key": value, "list": [value, {"inner": value, "empty": {}, "none": []}], value or "k": 1}
    # then
    assert fast_dump(document) == dump_yaml(document)


@pytest.mark.parametrize("document", [{"f": 1.5}, {"l": [[1, 2]]}, [1, 2], {}, {1: "int key"}])
def test_data_only_pyyaml_should_write_falls_back(document):
    # when
    text, lines = dump_with_lines(document)
    # then
    assert (text, lines) == (dump_yaml(document), {})


def test_lines_agree_with_the_yaml_loader():
    # given
    data = policy_to_data(seed_policy("2"))
    text, lines = dump_with_lines(data)
    loaded = load_one(text)
    # then
    for path in loaded.lines:
        assert line_of(lines, path) == loaded.line_of(path), path
    assert line_of(lines, "spec.egressRules[0].to[1].port.number") == 34
