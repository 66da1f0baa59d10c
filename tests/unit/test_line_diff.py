"""Side-by-side line diff: paired replacements, added and removed files, folded unchanged runs."""

from __future__ import annotations

from policies.core.line_diff import line_diff


def kinds(old: str, new: str, **kwargs: int) -> list[str]:
    return [row.kind for row in line_diff(old, new, **kwargs).rows]


def test_equal_texts_fold_into_one_row() -> None:
    text = "\n".join(f"line {n}" for n in range(20))
    diff = line_diff(text, text)
    assert [(row.kind, row.folded) for row in diff.rows] == [("fold", 20)]
    assert not diff.changed


def test_a_changed_line_is_paired_with_context_around_it() -> None:
    old = "\n".join(f"line {n}" for n in range(20))
    new = old.replace("line 10", "line ten")
    diff = line_diff(old, new, context=2)
    assert [row.kind for row in diff.rows] == ["fold", "equal", "equal", "replace", "equal", "equal", "fold"]
    replaced = diff.rows[3]
    assert (replaced.old.number, replaced.old.text) == (11, "line 10")  # type: ignore[union-attr]
    assert (replaced.new.number, replaced.new.text) == (11, "line ten")  # type: ignore[union-attr]
    assert (diff.added, diff.removed) == (1, 1)
    assert diff.rows[0].folded == 8 and diff.rows[-1].folded == 7


def test_an_added_file_is_all_inserts_and_a_removed_one_all_deletes() -> None:
    assert kinds("", "a\nb") == ["insert", "insert"]
    assert kinds("a\nb", "") == ["delete", "delete"]


def test_a_longer_replacement_ends_in_inserts_with_the_right_line_numbers() -> None:
    diff = line_diff("a\nx\nz", "a\ny1\ny2\nz")
    rows = [(r.kind, r.old.number if r.old else None, r.new.number if r.new else None) for r in diff.rows]
    assert rows == [("equal", 1, 1), ("replace", 2, 2), ("insert", None, 3), ("equal", 3, 4)]


def test_a_single_unchanged_line_is_shown_not_folded() -> None:
    old = "a\nb\nc\nd\ne\nf\ng\nh\ni"
    new = "A\nb\nc\nd\ne\nf\ng\nh\nI"
    assert "fold" not in kinds(old, new, context=3)
    assert kinds(old, new, context=2) == ["replace", "equal", "equal", "fold", "equal", "equal", "replace"]


def test_as_dict_is_plain_json() -> None:
    data = line_diff("a", "b").as_dict()
    assert data == {
        "added": 1,
        "removed": 1,
        "rows": [
            {"kind": "replace", "old": {"number": 1, "text": "a"}, "new": {"number": 1, "text": "b"}, "folded": 0}
        ],
    }
