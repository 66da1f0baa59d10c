"""Golden tests: the exact YAML the expansion prints for the seed scenarios and their variants.

The golden files under ``golden/`` are the expansion's output in apply order, labels included.
A second test checks that the expansion reproduces exactly (values and key order) each object
printed by the YAML blocks of spec §4.5–§4.8, copied verbatim into ``golden/spec/``, so the golden
files cannot drift from the spec unnoticed.

Regenerate the files under ``golden/`` after an intended change with
``python -m tests.unit.test_expansion_golden`` and review the diff. The files under
``golden/spec/`` are never regenerated: they change only when the spec does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.core.expansion import expand_policy
from policies.core.gateway import TranslationSettings
from policies.core.yamlio import dump_yaml_all
from tests.fixtures.seed import seed_policy
from tests.istio_schema import assert_schema_valid

GOLDEN_DIR = Path(__file__).parent / "golden"
SPEC_GOLDEN_DIR = GOLDEN_DIR / "spec"
SPEC_SECTIONS = {"4.5": "1", "4.6": "2", "4.7": "3", "4.8": "4"}
GOLDEN_CASES: dict[str, tuple[str, TranslationSettings]] = {
    "scenario-1": ("1", TranslationSettings()),
    "scenario-2": ("2", TranslationSettings()),
    "scenario-2a": ("2a", TranslationSettings()),
    "scenario-3": ("3", TranslationSettings()),
    "scenario-4": ("4", TranslationSettings()),
    "scenario-2-gatewayPort": ("2", TranslationSettings(upgrade_style="gatewayPort")),
    "scenario-2a-gatewayPort": ("2a", TranslationSettings(upgrade_style="gatewayPort")),
    "scenario-2-v1beta1": ("2", TranslationSettings(api_version="v1beta1")),
    "scenario-4-asmAuto": ("4", TranslationSettings(port_default="asmAuto")),
}


def render_case(name: str) -> str:
    """The expansion of one golden case as multi-document YAML."""
    scenario, settings = GOLDEN_CASES[name]
    return dump_yaml_all(expand_policy(seed_policy(scenario), settings=settings))


@pytest.mark.parametrize("name", sorted(GOLDEN_CASES))
def test_expansion_prints_the_golden_yaml(name: str) -> None:
    # given the golden file of a seed scenario and settings
    expected = (GOLDEN_DIR / f"{name}.yaml").read_text(encoding="utf-8")

    # when the scenario is expanded and dumped
    actual = render_case(name)

    # then the text is identical, and every object is schema-valid
    assert actual == expected
    for obj in yaml.safe_load_all(actual):
        assert_schema_valid(obj)


def _spec_objects(scenario: str) -> list[dict[str, Any]]:
    text = (SPEC_GOLDEN_DIR / f"scenario-{scenario}.yaml").read_text(encoding="utf-8")
    return list(yaml.safe_load_all(text))


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    return (obj["kind"], obj["metadata"]["namespace"], obj["metadata"]["name"])


@pytest.mark.parametrize(("section", "scenario"), sorted(SPEC_SECTIONS.items()))
def test_expansion_reproduces_the_spec_yaml(section: str, scenario: str) -> None:
    # given the objects spec §4.5-§4.8 prints (without the managed-by labels, as the spec says)
    expected = {_key(obj): obj for obj in _spec_objects(scenario)}

    # when the seed scenario is expanded with default settings
    actual = expand_policy(seed_policy(scenario))
    for obj in actual:
        del obj["metadata"]["labels"]

    # then the same objects come out, with the same values in the same key order
    assert sorted(_key(obj) for obj in actual) == sorted(expected)
    assert {_key(obj): json.dumps(obj) for obj in actual} == {key: json.dumps(obj) for key, obj in expected.items()}


if __name__ == "__main__":
    for case in GOLDEN_CASES:
        (GOLDEN_DIR / f"{case}.yaml").write_text(render_case(case), encoding="utf-8")
