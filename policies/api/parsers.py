"""Request bodies in JSON or YAML, and responses in YAML, all size- and shape-bounded.

Policies are YAML documents, so the API speaks ``application/yaml`` as well as JSON. Bodies come
from untrusted clients: every parser reads at most 1 MiB (one byte more tells it the body is
too big, without reading the rest), YAML at most 256 KiB of that (``services.MAX_YAML_BYTES``:
the loader's pace), YAML goes through the hardened loader of
``policies.core.yamlio`` (alias bombs, depth, duplicate keys) and JSON gets the same depth bound,
so no body can make a parser raise anything but a 400 or a 413.
"""

from __future__ import annotations

import json
from typing import Any

from django.utils.translation import gettext as _
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.utils.encoders import JSONEncoder

from policies.api.errors import BodyUnreadableError, RequestTooLargeError
from policies.core.findings import json_path
from policies.core.yamlio import (
    MAX_DEPTH,
    MAX_INPUT_BYTES,
    LoadedDocument,
    YamlLoadError,
    dump_yaml,
    json_too_deep,
    load_one,
    refuse_json_constant,
)
from policies.services import MAX_YAML_BYTES, yaml_too_large_message

YAML_MEDIA_TYPE = "application/yaml"
MERGE_PATCH_MEDIA_TYPE = "application/merge-patch+json"


class SourcedMapping(dict):
    """A parsed YAML body that remembers the source line of every JSON path."""

    source: LoadedDocument | None = None


def read_bounded(stream: Any) -> bytes:
    """The whole body, refusing (413) one that is over the limit without reading it all."""
    raw = stream.read(MAX_INPUT_BYTES + 1) if stream is not None else b""
    if len(raw) > MAX_INPUT_BYTES:
        raise RequestTooLargeError(_("The body is over the limit of %(limit)d bytes.") % {"limit": MAX_INPUT_BYTES})
    return raw


class BoundedJSONParser(BaseParser):
    """JSON bodies up to 1 MiB and 50 levels deep; NaN and Infinity are refused."""

    media_type = "application/json"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        raw = read_bounded(stream)
        too_deep = _("Nesting is deeper than %(limit)d levels.") % {"limit": MAX_DEPTH}
        try:
            data = json.loads(
                raw.decode("utf-8-sig"), parse_constant=refuse_json_constant, object_pairs_hook=_KeyedObject
            )
        except RecursionError as exc:
            raise BodyUnreadableError(too_deep) from exc
        except ValueError as exc:
            raise BodyUnreadableError(_("The body is not valid JSON: %(problem)s") % {"problem": _short(exc)}) from exc
        if json_too_deep(raw, data):
            raise BodyUnreadableError(too_deep)
        _refuse_repeated_keys(data, ())
        return _plain_dicts(data)


class MergePatchParser(BoundedJSONParser):
    """RFC 7396 JSON merge patch documents (for PATCH)."""

    media_type = MERGE_PATCH_MEDIA_TYPE


class YAMLParser(BaseParser):
    """One YAML document (a mapping), read by the hardened core loader."""

    media_type = YAML_MEDIA_TYPE

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> SourcedMapping:
        raw = read_bounded(stream)
        if len(raw) > MAX_YAML_BYTES:
            raise RequestTooLargeError(yaml_too_large_message(len(raw)))
        try:
            document = load_one(raw)
        except YamlLoadError as exc:
            where = _(" (line %(line)d)") % {"line": exc.line} if exc.line else ""
            message = _(exc.template).format(**exc.params) + where
            raise BodyUnreadableError(message, code=exc.code, path=exc.path) from exc
        data = SourcedMapping(document.data)
        data.source = document
        return data


class _KeyedObject(dict):
    """A JSON object that remembers the first key its text repeats (``json`` keeps the last value)."""

    repeated: str | None = None

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        if len(self) < len(pairs):
            keys = [key for key, _value in pairs]
            self.repeated = next(key for index, key in enumerate(keys) if key in keys[:index])


def _refuse_repeated_keys(data: Any, path: tuple[str | int, ...]) -> None:
    """Refuse a repeated key as the YAML loader does (EGRESS-Y09): its second value would hide the first."""
    if isinstance(data, _KeyedObject) and data.repeated is not None:
        where = json_path((*path, data.repeated))
        message = _("Duplicate key '{key}' at {path}: the second value would silently replace the first.")
        raise BodyUnreadableError(message.format(key=data.repeated, path=where), code="EGRESS-Y09", path=where)
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        _refuse_repeated_keys(value, (*path, key))


def _plain_dicts(data: Any) -> Any:
    """The parsed body with plain dicts (the C YAML dumper and the serializers expect exact types)."""
    if isinstance(data, dict):
        return {key: _plain_dicts(value) for key, value in data.items()}
    if isinstance(data, list):
        return [_plain_dicts(value) for value in data]
    return data


def mapping_body(request: Any) -> dict[str, Any]:
    """The parsed body of a DRF request, which must be an object (a custom resource or a tool request)."""
    data = request.data
    if not isinstance(data, dict):
        raise BodyUnreadableError(
            _("The body must be a JSON object or a YAML mapping, not %(kind)s.") % {"kind": type(data).__name__},
            code="not_an_object",
        )
    return data


class YAMLRenderer(BaseRenderer):
    """YAML responses: data as one document; text (already rendered YAML, e.g. manifests) as is."""

    media_type = YAML_MEDIA_TYPE
    format = "yaml"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if isinstance(data, str):
            return data.encode("utf-8")
        return dump_yaml(_plain(data)).encode("utf-8")


def _plain(data: Any) -> Any:
    """Plain dicts/lists/str: the C dumper refuses DRF's ReturnDict and ErrorDetail subclasses."""
    if type(data) in (dict, list):
        return data if _is_plain(data) else json.loads(json.dumps(data, cls=JSONEncoder))
    return json.loads(json.dumps(data, cls=JSONEncoder))


def _is_plain(value: Any) -> bool:
    if type(value) is dict:
        return all(type(k) is str and _is_plain(v) for k, v in value.items())
    if type(value) is list:
        return all(_is_plain(v) for v in value)
    return value is None or type(value) in (str, int, float, bool)


def _short(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 120 else text[:117] + "..."
