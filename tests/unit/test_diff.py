"""The core diff: a typed list of (operation, path, old, new), in document order."""

from __future__ import annotations

import pytest

from policies.core.diff import Change, diff


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ({"a": 1}, {"a": 1}, []),
        ({"a": 1}, {"a": 2}, [Change("change", ("a",), 1, 2)]),
        ({"a": 1}, {}, [Change("remove", ("a",), 1, None)]),
        ({}, {"a": {"b": 1}}, [Change("add", ("a",), None, {"b": 1})]),
        (
            {"spec": {"ports": [{"number": 80}, {"number": 443}]}},
            {"spec": {"ports": [{"number": 8080}, {"number": 443}]}},
            [Change("change", ("spec", "ports", 0, "number"), 80, 8080)],
        ),
        ({"hosts": ["a"]}, {"hosts": ["a", "b"]}, [Change("change", ("hosts",), ["a"], ["a", "b"])]),
        (None, {"a": 1}, [Change("add", (), None, {"a": 1})]),
        ({"a": 1}, None, [Change("remove", (), {"a": 1}, None)]),
        ("x", 1, [Change("change", (), "x", 1)]),
        (
            {"b": 1, "a": 1, "c": 1},
            {"a": 2, "d": 1, "b": 1},
            [Change("change", ("a",), 1, 2), Change("remove", ("c",), 1, None), Change("add", ("d",), None, 1)],
        ),
    ],
    ids=[
        "equal",
        "changed-scalar",
        "removed-key",
        "added-subtree",
        "list-element",
        "list-length",
        "created",
        "deleted",
        "type-change",
        "document-order",
    ],
)
def test_diff_lists_every_difference_in_order(old, new, expected):
    assert diff(old, new) == expected


@pytest.mark.parametrize(
    ("path", "dotted"),
    [((), ""), (("spec",), "spec"), (("spec", "http", 0, "route"), "spec.http[0].route"), ((0, "a"), "[0].a")],
)
def test_dotted_path_reads_like_kubectl(path, dotted):
    assert Change("change", path, 1, 2).dotted_path == dotted


def test_strings_are_not_diffed_as_lists():
    assert diff({"host": "abc"}, {"host": "abd"}) == [Change("change", ("host",), "abc", "abd")]
