"""How big a policy is, and which findings are listed when there are too many (issue 10, item 10)."""

from __future__ import annotations

import pytest

from policies.core.findings import Finding, Severity
from policies.core.size import OMITTED_CODE, capped, count_entries

ERR, WARN, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"spec": {"egressRules": [{"from": [{}, {}], "to": [{}]}, {"to": [{}, {}, {}]}]}}, 6),
        ({"spec": {"egressRules": [{"from": "mytest", "to": None}, "junk", 3]}}, 0),
        ({"spec": {"egressRules": {"from": [{}]}}}, 0),
        ({"spec": []}, 0),
        ([], 0),
    ],
)
def test_entries_are_counted_in_any_shape(data, expected):
    assert count_entries(data) == expected


def finding(severity: Severity, index: int) -> Finding:
    return Finding(f"EGRESS-V{index}", severity, f"spec.egressRules[{index}]", "t")


def test_a_short_list_is_returned_as_it_is():
    findings = [finding(INFO, 0), finding(ERR, 1)]
    assert capped(findings, 2) is findings


def test_errors_are_kept_first_in_document_order_and_the_rest_counted():
    # given infos, warnings and errors interleaved
    findings = [finding(INFO, 0), finding(ERR, 1), finding(WARN, 2), finding(ERR, 3), finding(INFO, 4)]
    # when capped at three
    kept = capped(findings, 3)
    # then both errors and the warning stay, in document order, and one finding counts the two infos
    assert [f.code for f in kept] == ["EGRESS-V1", "EGRESS-V2", "EGRESS-V3", OMITTED_CODE]
    assert (kept[-1].severity, kept[-1].path, kept[-1].message) == (
        INFO,
        "",
        "2 more findings are not listed; fix the listed ones and check again.",
    )
