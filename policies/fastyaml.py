"""Block-style YAML for plain data, byte-identical to ``dump_yaml`` but fast enough for the live preview.

The live preview re-renders the CR and every Istio object on each keystroke; a 50-target policy
is ~150 objects and PyYAML's pure-Python representer spends ~170 ms on them (its C part only
emits). This writer walks the data itself and asks PyYAML only how to write each distinct string
(cached), so quoting stays PyYAML's. It also records the line of every JSON path, which pins
findings to the YAML tab without parsing the text again. Whatever it is not sure to write exactly
like PyYAML (floats, nested lists, long strings with spaces, multi-line text) falls back to
``dump_yaml``, so the output is always the same text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from policies.core.yamlio import dump_yaml

# NB: PyYAML folds plain and quoted scalars with spaces at width 120; past this length the
# column matters, and only PyYAML itself knows where it would fold.
SAFE_SPACED_LENGTH = 60


class _FallbackError(Exception):
    """The data holds something only PyYAML should write."""


def dump_with_lines(data: Any) -> tuple[str, dict[str, int]]:
    """``dump_yaml(data)`` and the 1-based line of each JSON path (empty map after a fallback)."""
    out: list[str] = []
    lines: dict[str, int] = {}
    try:
        if isinstance(data, dict) and data:
            _mapping(data, "", 0, None, out, lines)
        else:
            return dump_yaml(data), {}
    except _FallbackError:
        return dump_yaml(data), {}
    return "\n".join(out) + "\n", lines


def fast_dump(data: Any) -> str:
    """The same text as ``dump_yaml(data)``."""
    return dump_with_lines(data)[0]


def line_of(lines: dict[str, int], path: str) -> int | None:
    """The line of ``path`` or of its nearest ancestor that has one (``None`` without a map)."""
    while path:
        if path in lines:
            return lines[path]
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""
    return 1 if lines else None


def _mapping(data: dict, path: str, indent: int, first_prefix: str | None, out: list[str], lines: dict) -> None:
    """Write a non-empty mapping; ``first_prefix`` is the ``- `` line the first key continues."""
    for index, (key, value) in enumerate(data.items()):
        if not isinstance(key, str):
            raise _FallbackError
        child = f"{path}.{key}" if path else key
        lead = first_prefix if index == 0 and first_prefix is not None else " " * indent
        lines[child] = len(out) + 1
        _entry(f"{lead}{_scalar(key)}:", value, child, indent, out, lines)


def _entry(head: str, value: Any, path: str, indent: int, out: list[str], lines: dict) -> None:
    if isinstance(value, dict) and value:
        out.append(head)
        _mapping(value, path, indent + 2, None, out, lines)
    elif isinstance(value, list) and value:
        out.append(head)
        _sequence(value, path, indent, out, lines)
    else:
        out.append(f"{head} {_leaf(value)}")


def _sequence(items: list, path: str, indent: int, out: list[str], lines: dict) -> None:
    for index, item in enumerate(items):
        child = f"{path}[{index}]"
        lines[child] = len(out) + 1
        prefix = " " * indent + "- "
        if isinstance(item, dict) and item:
            _mapping(item, child, indent + 2, prefix, out, lines)
        elif isinstance(item, list) and item:
            raise _FallbackError
        else:
            out.append(prefix + _leaf(item))


def _leaf(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _scalar(value)
    if value == {}:
        return "{}"
    if value == []:
        return "[]"
    raise _FallbackError


@lru_cache(maxsize=8192)
def _scalar(text: str) -> str:
    """How PyYAML writes this string as a one-line scalar (cached: names and hosts repeat)."""
    if " " in text and len(text) > SAFE_SPACED_LENGTH:
        raise _FallbackError
    dumped = dump_yaml(text)
    dumped = dumped[: -len("\n...\n")] if dumped.endswith("\n...\n") else dumped[:-1]
    if "\n" in dumped:
        raise _FallbackError
    return dumped
