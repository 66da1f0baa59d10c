"""How the cluster verbs print: one table row per object, its changed fields below it, errors with their codes.

The tables are for people (aligned columns, values shortened); scripts read the exit code and
the stable error codes, which every row and error line carries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from policies.cli.base import CommandIO
from policies.cluster.apply import ApplyResult
from policies.cluster.errors import ClusterError
from policies.cluster.interface import ObjectRef
from policies.cluster.scope import PolicyScope
from policies.core.diff import Change


def print_error(io: CommandIO, verb: str, error: ClusterError) -> None:
    """``egress VERB: error CODE: message`` on stderr."""
    io.err(f"egress {verb}: error {error.code}: {error.message}")


def error_detail(error: ClusterError | None) -> str:
    """``CODE message`` of an object's error, or nothing."""
    return f"{error.code} {error.message}" if error else ""


def print_objects(io: CommandIO, state_title: str, rows: Iterable[tuple[ObjectRef, str, str, list[Change]]]) -> None:
    """A table of (object, state, details) rows, each followed by the lines of the changes given with it."""
    table = [("KIND", "NAMESPACE/NAME", state_title, "DETAILS")]
    for ref, state, detail, changes in rows:
        table.append((ref.kind, f"{ref.namespace}/{ref.name}", state, detail))
        table += [("", "", "", line) for line in change_lines(changes)]
    print_table(io, table)


def print_outcomes(io: CommandIO, result: ApplyResult) -> None:
    """One row per object written: kind, namespace/name, outcome, and its error or changed fields."""
    rows: list[tuple[ObjectRef, str, str, list[Change]]] = [
        (o.ref, o.outcome, error_detail(o.error) or ", ".join(c.dotted_path for c in o.changes), [])
        for o in result.outcomes
    ]
    print_objects(io, "OUTCOME", rows)


def scope_label(scope: PolicyScope) -> str:
    """``NAMESPACE/NAME`` of a policy."""
    return f"{scope.namespace}/{scope.name}"


def print_table(io: CommandIO, rows: Sequence[tuple[str, ...]]) -> None:
    """Left-aligned columns; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        io.out("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])


def change_lines(changes: list[Change], limit: int = 60) -> list[str]:
    """``~ spec.hosts: ['a'] -> ['b']`` lines (+ added, - removed), values shortened to ``limit``."""
    sign = {"add": "+", "remove": "-", "change": "~"}
    lines = []
    for c in changes:
        values = {
            "add": _short(c.new, limit),
            "remove": _short(c.old, limit),
            "change": f"{_short(c.old, limit)} -> {_short(c.new, limit)}",
        }[c.operation]
        lines.append(f"{sign[c.operation]} {c.dotted_path or '(object)'}: {values}")
    return lines


def _short(value: Any, limit: int) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary_counts(result: ApplyResult) -> str:
    """``2 created, 1 configured, ...`` for the outcomes present."""
    order = ("created", "configured", "unchanged", "pruned", "failed", "skipped")
    counts = {name: sum(o.outcome == name for o in result.outcomes) for name in order}
    if not result.outcomes and result.error is not None:
        return "nothing done (stopped by the error below)"  # NB: "no objects" would claim the cluster has none.
    return ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "no objects"
