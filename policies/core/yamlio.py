"""Hardened YAML/JSON reading and canonical YAML writing.

Policies arrive from browsers, API clients and files, so the reader assumes hostile input:
it uses the safe C loader only, refuses oversized text, bounds alias expansion (the
"billion laughs" bomb) and nesting depth, forbids duplicate keys, and records the source line
of every node so each finding can point at a line. JSON is read by the same path: it is YAML.

The composed node graph is walked by hand instead of calling ``construct_document``; that walk
is where the bounds are enforced, before any large Python object can be built.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml

from policies.core.findings import json_path
from policies.core.i18n import _

try:  # NB: the C loader/dumper are 4-5x faster; YAML I/O is the preview hot path.
    from yaml import CSafeDumper as SafeDumper
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - libyaml is part of the PyYAML wheels we pin
    from yaml import SafeDumper, SafeLoader  # type: ignore[assignment]  # NB: pure-Python stand-ins for the C classes

MAX_INPUT_BYTES = 1024 * 1024
MAX_DEPTH = 50
MAX_ALIAS_USES = 100
MAX_NODES = 150_000  # NB: a 1 MiB policy of ordinary targets has about 100,000.
_INT_TEXT_BITS = 13_000  # NB: below Python's default 4,300-digit int/str limit (about 14,280 bits)
_PLAIN_COLLECTION_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


class YamlLoadError(Exception):
    """The text cannot be read as the expected YAML document(s)."""

    def __init__(self, code: str, template: str, line: int | None = None, **params: Any) -> None:
        self.code = code
        self.path = str(params.get("path", ""))  # NB: the field at fault, when the error names one (Y09)
        self.template = template
        self.params = params
        self.line = line
        super().__init__(template.format(**params))

    @property
    def message(self) -> str:
        """The error in English."""
        return self.template.format(**self.params)


@dataclass
class LoadedDocument:
    """Plain data of one YAML document plus the source line of every JSON path in it."""

    data: Any
    lines: dict[str, int] = field(default_factory=dict)
    first_line: int = 1

    def line_of(self, path: str) -> int | None:
        """The source line of ``path`` or of its nearest ancestor that has one."""
        while path:
            if path in self.lines:
                return self.lines[path]
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        return self.first_line


def decode_text(raw: bytes | str) -> str:
    """Bytes → text, refusing oversized or non-UTF-8 (e.g. binary) input."""
    size = len(raw.encode("utf-8", "surrogatepass")) if isinstance(raw, str) else len(raw)
    if size > MAX_INPUT_BYTES:
        raise YamlLoadError(
            "EGRESS-Y01", _("Input is {size} bytes; the limit is {limit} bytes."), size=size, limit=MAX_INPUT_BYTES
        )
    if isinstance(raw, str):
        text = raw
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise YamlLoadError(
                "EGRESS-Y02", _("Input is not UTF-8 text (invalid byte at offset {offset})."), offset=exc.start
            ) from exc
    if "\x00" in text:
        raise YamlLoadError("EGRESS-Y02", _("Input contains a NUL byte; binary data is not YAML."))
    return text


def load_one(raw: bytes | str) -> LoadedDocument:
    """Read exactly one YAML/JSON document (a mapping)."""
    documents = load_all(raw)
    if not documents:
        raise YamlLoadError("EGRESS-Y07", _("The input is empty: expected one YAML document."))
    if len(documents) > 1:
        raise YamlLoadError(
            "EGRESS-Y06",
            _("Expected one YAML document, found {count}; split them or use a multi-document command."),
            line=documents[1].first_line,
            count=len(documents),
        )
    return documents[0]


def load_all(raw: bytes | str) -> list[LoadedDocument]:
    """Read every document of a multi-document stream; empty documents are skipped."""
    text = decode_text(raw)
    loader = SafeLoader(text)
    documents: list[LoadedDocument] = []
    try:
        _prescan(text)
        while loader.check_node():
            node = loader.get_node()
            if node is None or _is_empty_document(node):
                continue
            documents.append(_NodeReader(loader).read(node))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        if exc.problem == "exceeded maximum nesting depth":  # NB: libyaml's own cap (1000) beats ours.
            raise YamlLoadError(
                "EGRESS-Y05", _("Nesting is deeper than {limit} levels."), line=line, limit=MAX_DEPTH
            ) from exc
        raise YamlLoadError(
            "EGRESS-Y03", _("YAML syntax error: {problem}."), line=line, problem=exc.problem or str(exc)
        ) from exc
    except yaml.reader.ReaderError as exc:  # NB: unlike the others it has a position but no mark.
        raise YamlLoadError(
            "EGRESS-Y02",
            _("Input contains a character YAML does not allow (#x{char:04x}): {problem}."),
            line=text.count("\n", 0, exc.position) + 1,
            char=exc.character,
            problem=exc.reason,
        ) from exc
    except yaml.YAMLError as exc:
        raise YamlLoadError("EGRESS-Y03", _("YAML syntax error: {problem}."), problem=str(exc)) from exc
    finally:
        loader.dispose()
    return documents


_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)


def _is_empty_document(node: yaml.Node) -> bool:
    """A document with no content (a bare '---', as kubectl and helm leave at the end), not '~' or 'null'."""
    return isinstance(node, yaml.ScalarNode) and not node.value and not node.style and node.tag.endswith(":null")


def _prescan(text: str) -> None:
    """Bound the size of the node graph before composing it.

    NB: libyaml's composer costs about five times its event parser per node, and our walk as
    much again, so a flat flood of values (``[1,1,1,...]`` up to the byte limit) is refused here
    from the cheap event stream instead of after composing it.
    """
    count = 0
    for event in yaml.parse(text, Loader=SafeLoader):
        if isinstance(event, _NODE_EVENTS):
            count += 1
            if count > MAX_NODES:
                raise YamlLoadError(
                    "EGRESS-Y04",
                    _("The document expands to more than {limit} values."),
                    # NB: parser events always carry a mark; the stubs allow None.
                    line=event.start_mark.line + 1 if event.start_mark else None,
                    limit=MAX_NODES,
                )


class _NodeReader:
    """Builds plain data from a composed node graph while enforcing the bounds."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader
        self._seen: set[int] = set()
        self._alias_uses = 0
        self._nodes = 0
        self._lines: dict[str, int] = {}

    def read(self, node: yaml.Node) -> LoadedDocument:
        if not isinstance(node, yaml.MappingNode):
            raise YamlLoadError(
                "EGRESS-Y08",
                _("Expected a mapping (an object with apiVersion, kind, ...), found {found}."),
                line=node.start_mark.line + 1,
                found=_node_kind(node),
            )
        data = self._value(node, (), 1)
        return LoadedDocument(data=data, lines=self._lines, first_line=node.start_mark.line + 1)

    def _value(self, node: yaml.Node, path: tuple[str | int, ...], depth: int) -> Any:
        self._count(node, depth)
        if path:
            self._lines.setdefault(json_path(path), node.start_mark.line + 1)
        if isinstance(node, yaml.ScalarNode):
            return self._scalar(node, path)
        if node.tag not in _PLAIN_COLLECTION_TAGS:  # NB: e.g. !!python/object/apply:…, !!set, !!omap
            raise YamlLoadError(
                "EGRESS-Y03",
                _("YAML syntax error: {problem}."),
                line=node.start_mark.line + 1,
                problem=f"the tag {node.tag} is not supported; use plain mappings and lists",
            )
        if isinstance(node, yaml.SequenceNode):
            return [self._value(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.MappingNode)  # NB: the composer builds only scalar, sequence and mapping nodes
        return self._mapping(node, path, depth)

    def _scalar(self, node: yaml.ScalarNode, path: tuple[str | int, ...]) -> Any:
        """A scalar's value; one the constructor cannot build (``2020-13-45``) is a located Y03."""
        try:
            value = self._loader.construct_object(node)
            if isinstance(value, int) and value.bit_length() > _INT_TEXT_BITS:
                str(value)  # NB: a 0x/0b/0o literal is built, but every later use as text would raise
        except (ValueError, OverflowError) as exc:
            raise YamlLoadError(
                "EGRESS-Y03",
                _("YAML syntax error: {problem}."),
                line=node.start_mark.line + 1,
                path=json_path(path),
                problem=_unreadable_scalar(node, exc),
            ) from exc
        return value

    def _mapping(self, node: yaml.MappingNode, path: tuple[str | int, ...], depth: int) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = self._value(key_node, (), depth + 1)
            if isinstance(key, list | dict):
                raise YamlLoadError(
                    "EGRESS-Y03",
                    _("YAML syntax error: {problem}."),
                    line=key_node.start_mark.line + 1,
                    problem="a mapping key must be a scalar",
                )
            if key in result:
                raise YamlLoadError(
                    "EGRESS-Y09",
                    _("Duplicate key '{key}' at {path}: the second value would silently replace the first."),
                    line=key_node.start_mark.line + 1,
                    key=key,
                    path=json_path((*path, str(key))),
                )
            child = (*path, str(key))
            self._lines[json_path(child)] = key_node.start_mark.line + 1
            result[key] = self._value(value_node, child, depth + 1)
        return result

    def _count(self, node: yaml.Node, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise YamlLoadError(
                "EGRESS-Y05",
                _("Nesting is deeper than {limit} levels."),
                line=node.start_mark.line + 1,
                limit=MAX_DEPTH,
            )
        self._nodes += 1
        if self._nodes > MAX_NODES:
            raise YamlLoadError(
                "EGRESS-Y04",
                _("The document expands to more than {limit} values."),
                line=node.start_mark.line + 1,
                limit=MAX_NODES,
            )
        # NB: scalars count too: 300k aliases of one scalar fit in 1 MiB and multiply the walk.
        if id(node) in self._seen:
            self._alias_uses += 1
            if self._alias_uses > MAX_ALIAS_USES:
                raise YamlLoadError(
                    "EGRESS-Y04",
                    _("Too many alias references (over {limit}): anchors and aliases are limited."),
                    line=node.start_mark.line + 1,
                    limit=MAX_ALIAS_USES,
                )
        self._seen.add(id(node))


def _unreadable_scalar(node: yaml.ScalarNode, exc: Exception) -> str:
    shown = node.value if len(node.value) <= 40 else node.value[:37] + "..."
    if "integer string conversion" in str(exc):  # NB: Python's int/str limit, CVE-2020-10735
        reason = f"an integer may have at most {sys.get_int_max_str_digits()} digits"
    else:
        reason = str(exc)
    return f"the value '{shown}' cannot be read ({reason})"


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.ScalarNode):
        return "a scalar value"
    return "a mapping"


def refuse_json_constant(name: str) -> Any:
    """``parse_constant`` for ``json.loads``: NaN and Infinity are not JSON numbers (RFC 8259)."""
    raise ValueError(f"{name} is not a JSON number")


def json_too_deep(raw: bytes | str, data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether parsed JSON ``data`` (read from ``raw``) nests deeper than ``limit`` levels.

    JSON bodies skip the YAML walk above, so they get the same bound here before any recursive
    code (validation, rendering, the error-path builder) touches them.
    """
    brackets = raw.count(b"{") + raw.count(b"[") if isinstance(raw, bytes) else raw.count("{") + raw.count("[")
    # NB: a level needs a bracket; counting them (in strings too) settles ordinary bodies without the walk.
    return brackets >= limit and _depth(data) > limit


def _depth(value: Any) -> int:
    """Nesting depth, computed without recursion (the value may be pathologically deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((child, level + 1) for child in children)
    return deepest


def dump_yaml(data: Any) -> str:
    """Block-style YAML in the given key order, via the C dumper."""
    return yaml.dump(data, Dumper=SafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120)


def dump_yaml_all(documents: list[Any]) -> str:
    """A multi-document YAML stream, ``---`` between documents."""
    return yaml.dump_all(
        documents, Dumper=SafeDumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=120
    )


def iter_documents(raw: bytes | str) -> Iterator[LoadedDocument]:
    """Convenience generator over ``load_all``."""
    yield from load_all(raw)
