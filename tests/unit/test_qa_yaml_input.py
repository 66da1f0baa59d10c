"""Regressions found by exploratory testing of policy input (files, stdin, pasted YAML).

Each test names the behaviour it pins, with the exact finding or value it expects.
"""

from __future__ import annotations

import pytest

from policies.core.document import parse_policy_text
from policies.core.yamlio import YamlLoadError, load_all
from policies.seed import seed_text

SCENARIO_2 = seed_text("scenario-2")


@pytest.mark.parametrize(
    "text",
    [
        SCENARIO_2 + "---\n",  # kubectl / helm style trailing separator
        "---\n" + SCENARIO_2 + "---\n",
        SCENARIO_2 + "---\n# the end\n",
        "---\n---\n" + SCENARIO_2,
    ],
)
def test_empty_documents_around_a_policy_are_skipped(text: str) -> None:
    # Given: one policy plus empty documents (only '---' separators and comments)
    # When
    parsed = parse_policy_text(text)

    # Then
    assert parsed.findings == []
    assert parsed.policy is not None and parsed.policy.metadata.name == "egress-by-egressgateway"


@pytest.mark.parametrize(
    ("text", "code"), [("---\n", "EGRESS-Y07"), ("---\n---\n", "EGRESS-Y07"), ("null\n", "EGRESS-Y08")]
)
def test_only_empty_documents_is_empty_input_but_an_explicit_null_is_not_a_mapping(text: str, code: str) -> None:
    # Given / When
    parsed = parse_policy_text(text)

    # Then
    assert [finding.code for finding in parsed.findings] == [code]


def test_an_explicit_null_document_between_objects_is_still_refused() -> None:
    # Given: '~' is a document with a value (null), unlike an empty one
    # When / Then
    with pytest.raises(YamlLoadError, match="found a scalar value"):
        load_all(SCENARIO_2 + "---\n~\n")


def test_a_duplicate_key_finding_carries_the_field_path_and_line() -> None:
    # Given: metadata.namespace twice, the second on line 6
    text = SCENARIO_2.replace("  namespace: istio-egress\n", "  namespace: istio-egress\n  namespace: other\n", 1)

    # When
    parsed = parse_policy_text(text)

    # Then
    assert [(f.code, f.path, f.line) for f in parsed.findings] == [("EGRESS-Y09", "metadata.namespace", 6)]
