"""Field-level differences between two JSON-like documents, as a typed list.

Diff, drift and the review screens all need the same answer to "what would change": a list of
(operation, path, old, new) entries, ordered by path, that a person can read and a program can
filter. Dicts are compared key by key; lists of equal length element by element (so a port
number change reads ``spec.ports[0].number``); lists of different lengths are replaced as a
whole, which is also how Kubernetes treats Istio's atomic lists.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Operation = Literal["add", "change", "remove"]
PathPart = str | int


@dataclass(frozen=True)
class Change:
    """One difference: ``operation`` at ``path``, from ``old`` to ``new`` (None when absent)."""

    operation: Operation
    path: tuple[PathPart, ...]
    old: Any
    new: Any

    @property
    def dotted_path(self) -> str:
        """The path as ``spec.http[0].route`` (empty for the whole document)."""
        text = ""
        for part in self.path:
            text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
        return text


def diff(old: Any, new: Any) -> list[Change]:
    """Every difference from ``old`` to ``new``.

    Args:
        old: the current document (e.g. the live object); None means "absent".
        new: the wanted document (e.g. the server's dry-run result).

    Returns:
        Changes in document order of ``old`` then new keys of ``new``; empty when equal.
    """
    return list(_walk(old, new, ()))


def _walk(old: Any, new: Any, path: tuple[PathPart, ...]) -> Any:
    if old == new:
        return
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        yield from _walk_mapping(old, new, path)
    elif _is_list(old) and _is_list(new) and len(old) == len(new):
        for index, (left, right) in enumerate(zip(old, new, strict=True)):
            yield from _walk(left, right, (*path, index))
    elif old is None:
        yield Change("add", path, None, new)
    elif new is None:
        yield Change("remove", path, old, None)
    else:
        yield Change("change", path, old, new)


def _walk_mapping(old: Mapping[str, Any], new: Mapping[str, Any], path: tuple[PathPart, ...]) -> Any:
    for key, value in old.items():
        if key not in new:
            yield Change("remove", (*path, key), value, None)
        else:
            yield from _walk(value, new[key], (*path, key))
    for key, value in new.items():
        if key not in old:
            yield Change("add", (*path, key), None, value)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)
