"""Side-by-side line diff of two texts, as rows a page draws in two columns.

The review page shows YAML the way a code review does: the old text on the left, the new on
the right, removed lines red, added lines green, changed lines paired. Long unchanged stretches
fold into one "N unchanged lines" row so a one-line change in a 1,000-line expansion stays
readable (and the page stays small); ``context`` unchanged lines stay around every change.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

RowKind = Literal["equal", "delete", "insert", "replace", "fold"]
CONTEXT_LINES = 3


@dataclass(frozen=True)
class Side:
    """One cell: the line number (1-based) and its text."""

    number: int
    text: str


@dataclass(frozen=True)
class Row:
    """One row of the side-by-side view; a ``fold`` row stands for ``folded`` unchanged lines."""

    kind: RowKind
    old: Side | None = None
    new: Side | None = None
    folded: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: kind, old {number, text} | null, new {number, text} | null, folded."""
        return {"kind": self.kind, "old": _cell(self.old), "new": _cell(self.new), "folded": self.folded}


def _cell(side: Side | None) -> dict[str, Any] | None:
    return {"number": side.number, "text": side.text} if side else None


@dataclass(frozen=True)
class LineDiff:
    """The rows, and how many lines were added and removed (a replaced line counts as both)."""

    rows: list[Row]
    added: int
    removed: int

    @property
    def changed(self) -> bool:
        """Whether the two texts differ."""
        return bool(self.added or self.removed)

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: added, removed, rows."""
        return {"added": self.added, "removed": self.removed, "rows": [row.as_dict() for row in self.rows]}


def line_diff(old: str, new: str, *, context: int = CONTEXT_LINES) -> LineDiff:
    """The side-by-side rows from ``old`` to ``new`` (either may be empty: an added or removed file).

    Args:
        old: The text before.
        new: The text after.
        context: Unchanged lines kept on each side of a change; longer unchanged runs fold.

    Returns:
        Rows in document order; ``replace`` rows pair old and new lines, the longer side's rest
        becomes ``delete`` or ``insert`` rows.
    """
    left, right = old.splitlines(), new.splitlines()
    rows: list[Row] = []
    added = removed = 0
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, left, right, autojunk=False).get_opcodes():
        if tag == "equal":
            rows += _folded(left, i1, j1, i2 - i1, context, first=i1 == 0, last=i2 == len(left))
            continue
        removed, added = removed + (i2 - i1), added + (j2 - j1)
        rows += _changed(left[i1:i2], right[j1:j2], i1, j1)
    return LineDiff(rows, added, removed)


def _changed(old: list[str], new: list[str], old_start: int, new_start: int) -> list[Row]:
    rows = []
    for offset in range(max(len(old), len(new))):
        left = Side(old_start + offset + 1, old[offset]) if offset < len(old) else None
        right = Side(new_start + offset + 1, new[offset]) if offset < len(new) else None
        kind: RowKind = "replace" if left and right else ("delete" if left else "insert")
        rows.append(Row(kind, left, right))
    return rows


def _folded(
    lines: list[str], old_start: int, new_start: int, count: int, context: int, *, first: bool, last: bool
) -> list[Row]:
    """An unchanged run: ``context`` lines after the change before it and before the next, the middle folded."""
    head = 0 if first else min(context, count)
    tail = 0 if last else min(context, count - head)
    if count - head - tail <= 1:  # NB: folding a single line saves nothing.
        head, tail = count, 0
    rows = [_equal(lines, old_start, new_start, k) for k in range(head)]
    if count - head - tail > 0:
        rows.append(Row("fold", folded=count - head - tail))
    rows += [_equal(lines, old_start, new_start, k) for k in range(count - tail, count)]
    return rows


def _equal(lines: list[str], old_start: int, new_start: int, offset: int) -> Row:
    text = lines[old_start + offset]
    return Row("equal", Side(old_start + offset + 1, text), Side(new_start + offset + 1, text))
