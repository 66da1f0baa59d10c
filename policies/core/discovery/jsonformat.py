"""Istio's default JSON access-log encoding (``meshConfig.accessLogEncoding: JSON``).

``EnvoyJSONLogFormatIstio`` (istio/istio ``pilot/pkg/model/telemetry_logging.go``) names 24
operators; Envoy writes one flat object per line, numbers for ``%RESPONSE_CODE%``, the byte
counts and durations, strings (or null) for the rest. ``json.loads`` is most of the cost of a
line, so once a line of the default field set has been read, its key order becomes a
precompiled pattern (a *layout*) that reads the next lines of the same proxy directly; a line
the pattern does not take (another key order, an escaped character, anything unusual) goes
through ``json.loads`` as before, so both ways give the same result.
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from policies.core.discovery.entry import (
    INCOMPLETE_JSON,
    UNKNOWN_FORMAT,
    AccessLogEntry,
    RefusedLine,
    bad_field,
    is_instant,
    refused,
)
from policies.core.i18n import _

_START_TIME = re.compile(r"\d{4}-\d\d-\d\dT[0-9:.]+Z\Z")

JSON_FIELDS = (
    "start_time",
    "method",
    "path",
    "protocol",
    "response_code",
    "response_flags",
    "response_code_details",
    "connection_termination_details",
    "upstream_transport_failure_reason",
    "bytes_received",
    "bytes_sent",
    "duration",
    "upstream_service_time",
    "x_forwarded_for",
    "user_agent",
    "request_id",
    "authority",
    "upstream_host",
    "upstream_cluster",
    "upstream_local_address",
    "downstream_local_address",
    "downstream_remote_address",
    "requested_server_name",
    "route_name",
)
# NB: only the fields an entry keeps are converted (the others are never read): a third of the cost.
USED_JSON_FIELDS = (
    "method",
    "path",
    "protocol",
    "response_flags",
    "response_code_details",
    "authority",
    "upstream_host",
    "upstream_cluster",
    "downstream_local_address",
    "downstream_remote_address",
    "requested_server_name",
    "route_name",
)
# The fields a flow is built from; a JSON line without one of them is not Istio's default format.
REQUIRED_JSON_FIELDS = (
    "start_time",
    "protocol",
    "response_code",
    "response_flags",
    "authority",
    "upstream_host",
    "upstream_cluster",
    "downstream_local_address",
    "requested_server_name",
)


MAX_LAYOUTS = 8
# NB: JSON's own grammar (RFC 8259) for the values the layout takes, so it never accepts a line
# json.loads would refuse: null, an integer, a string without escapes or control characters.
# Possessive repeats (``*+``) match the same (a value never gives back a character) ~15% faster.
_SCALAR = r'null|-?(?:0|[1-9][0-9]*+)|"[^"\\\x00-\x1f]*+"'
_VALUE, _SKIPPED = f"({_SCALAR})", f"(?:{_SCALAR})"
_SEPARATORS = ((",", ":"), (", ", ": "))
_KEPT_FIELDS = frozenset({"start_time", "response_code", *USED_JSON_FIELDS})
_NONE_VALUES = frozenset({"null", '"-"', '""'})
_TEXT_STARTS = frozenset('"n')


class _Layout(NamedTuple):
    """A learned key order: its pattern, and where the kept values are among the pattern's groups.

    ``fast`` reads a whole line, ``kubectl logs --prefix`` prefix included, for the flow
    aggregator's fast path (``fast_layouts``).
    """

    pattern: re.Pattern[str]
    names: tuple[str, ...]
    start: int
    code: int
    used: tuple[int, ...]
    fast: FastLayout


class FastLayout(NamedTuple):
    """A whole-line pattern whose match says the line reads as a valid entry once its start time is a real instant.

    Attributes:
        pattern: Matches the line, prefix included; never a line the general path would refuse
            for any reason but the start time's calendar (``2024-13-45``).
        start: Group of the start time (without quotes).
        signature: Groups of every value a flow is built from but the start time: pod,
            protocol, response code, flags, details, authority, upstream cluster, original
            destination, SNI and route, as written (quotes and ``null`` included). Lines with
            the same values read as entries that differ only in fields no flow uses.
    """

    pattern: re.Pattern[str]
    start: int
    signature: tuple[int, ...]


_layouts: list[_Layout] = []


def parse_json_line(text: str, number: int, pod: str | None, container: str | None) -> AccessLogEntry | RefusedLine:
    """One JSON access-log line (prefix already removed): an entry or the reason it is refused."""
    for layout in _layouts:
        match = layout.pattern.match(text)
        if match is not None:
            return _layout_entry(layout, match.groups(), number, pod, container) or _json_entry(
                text, number, pod, container
            )
    return _json_entry(text, number, pod, container)


def _layout_entry(
    layout: _Layout, values: tuple[str, ...], number: int, pod: str | None, container: str | None
) -> AccessLogEntry | None:
    """The entry of a line the layout took, or None when a value needs the general path's checks."""
    start, code = values[layout.start], values[layout.code]
    if start[0] != '"' or code[0] in '"n-':
        return None  # NB: a quoted code, null or a negative one: the general path says what is wrong.
    start, code_number = start[1:-1], int(code)
    if code_number > 999 or not _START_TIME.match(start) or not is_instant(start):
        return None
    used = [values[index] for index in layout.used]
    if not {value[0] for value in used} <= _TEXT_STARTS:
        return None  # NB: a number where text belongs: the general path converts it.
    method, path, protocol, flags, details, authority, upstream, cluster, local, remote, sni, route = [
        None if value in _NONE_VALUES else value[1:-1] for value in used
    ]
    return AccessLogEntry(
        number, "json", pod, container, start, method, path, protocol, code_number,
        tuple(flags.split(",")) if flags else (), details, authority, upstream, cluster, local, remote, sni, route,
    )  # fmt: skip


def _learn_layout(data: dict[str, Any], text: str) -> None:
    """Remember the key order and separators of a line of exactly the default field set.

    NB: Envoy writes ``,`` and ``:`` with no spaces (``json.dumps`` writes ``, `` and ``: ``);
    literal separators keep the pattern fast, and any other spacing takes the general path.
    """
    order = tuple(data)
    if len(_layouts) >= MAX_LAYOUTS or len(order) != len(JSON_FIELDS) or set(order) != set(JSON_FIELDS):
        return
    for comma, colon in _SEPARATORS:
        members = [f'"{name}"{colon}' + (_VALUE if name in _KEPT_FIELDS else _SKIPPED) for name in order]
        pattern = re.compile("\\{" + comma.join(members) + "\\}\\Z")
        if pattern.match(text) is None or any(known.pattern.pattern == pattern.pattern for known in _layouts):
            continue
        kept = tuple(name for name in order if name in _KEPT_FIELDS)
        used = tuple(kept.index(name) for name in USED_JSON_FIELDS)
        fast = _fast_layout(order, comma, colon)
        _layouts.append(_Layout(pattern, kept, kept.index("start_time"), kept.index("response_code"), used, fast))
        return


# NB: narrower than the layout's own values, so that a fast match needs none of _layout_entry's checks:
# the start time quoted and shaped, the code a number of at most three digits, text or null where text goes.
_FAST_VALUES = {
    "start_time": r'"(\d{4}-\d\d-\d\dT[0-9:.]+Z)"',
    "response_code": r"(0|[1-9][0-9]{0,2})",
}
_FAST_TEXT = r'(null|"[^"\\\x00-\x1f]*+")'
_FAST_PREFIX = r"(?:\[pod/([a-z0-9][-a-z0-9.]*)/[a-z0-9][-a-z0-9]*\] )?"
# The values a flow is built from, as in flows.FlowAggregator.add, the start time aside.
SIGNATURE_FIELDS = (
    "protocol",
    "response_code",
    "response_flags",
    "response_code_details",
    "authority",
    "upstream_cluster",
    "downstream_local_address",
    "requested_server_name",
    "route_name",
)


def _fast_layout(order: tuple[str, ...], comma: str, colon: str) -> FastLayout:
    """The whole-line pattern of a key order (group 1 is the pod of a ``kubectl logs --prefix`` prefix)."""
    members = []
    for name in order:
        value = _FAST_VALUES.get(name) or (_FAST_TEXT if name in SIGNATURE_FIELDS else _SKIPPED)
        members.append(f'"{name}"{colon}{value}')
    pattern = re.compile(_FAST_PREFIX + "\\{" + comma.join(members) + "\\}\\Z")
    captured = [name for name in order if name == "start_time" or name in SIGNATURE_FIELDS]
    group = {name: index for index, name in enumerate(captured, 2)}
    return FastLayout(pattern, group["start_time"], (1, *(group[name] for name in SIGNATURE_FIELDS)))


def layout_count() -> int:
    """How many layouts have been learned."""
    return len(_layouts)


def fast_layouts() -> list[FastLayout]:
    """The fast patterns of the layouts learned so far (the list grows as lines teach new ones)."""
    return [layout.fast for layout in _layouts]


def _json_entry(text: str, number: int, pod: str | None, container: str | None) -> AccessLogEntry | RefusedLine:
    try:
        data = json.loads(text)
    except ValueError:
        return refused(
            number,
            INCOMPLETE_JSON,
            _("The line starts with '{{' but is not a complete JSON object (truncated?)."),
            text,
        )
    if not isinstance(data, dict):
        return refused(
            number, UNKNOWN_FORMAT, _("Not an access-log line in Istio's default TEXT or JSON format."), text
        )
    missing = [name for name in REQUIRED_JSON_FIELDS if name not in data]
    if missing:
        return refused(
            number,
            UNKNOWN_FORMAT,
            _("A JSON line without {fields}: not Istio's default JSON access-log format (a custom accessLogFormat?)."),
            text,
            fields=", ".join(missing),
        )
    _learn_layout(data, text)
    return _checked_json_entry(data, text, number, pod, container)


def _checked_json_entry(
    data: dict[str, Any], text: str, number: int, pod: str | None, container: str | None
) -> AccessLogEntry | RefusedLine:
    start_time, code = data["start_time"], data["response_code"]
    if not isinstance(start_time, str) or not _START_TIME.match(start_time) or not is_instant(start_time):
        return bad_field(number, "start_time", start_time, text)
    if isinstance(code, str) and code.isdigit():
        code = int(code)
    if not isinstance(code, int) or isinstance(code, bool) or not 0 <= code <= 999:
        return bad_field(number, "response_code", code, text)
    get = data.get
    values = [get(name) for name in USED_JSON_FIELDS]
    if not {value.__class__ for value in values} <= _TEXT_CLASSES:
        values = [_json_text(value) for value in values]
        for name, value in zip(USED_JSON_FIELDS, values, strict=True):
            if value is _INVALID:
                return bad_field(number, name, get(name), text)
    method, path, protocol, flags, details, authority, upstream, cluster, local, remote, sni, route = (
        None if value == "-" or not value else value for value in values
    )
    return AccessLogEntry(
        number,
        "json",
        pod,
        container,
        start_time,
        method,
        path,
        protocol,
        code,
        tuple(flags.split(",")) if flags else (),
        details,
        authority,
        upstream,
        cluster,
        local,
        remote,
        sni,
        route,
    )


_TEXT_CLASSES = frozenset({str, type(None)})
_INVALID: Any = object()


def _json_text(value: Any) -> Any:
    """A JSON field as text: None for null/``-``; numbers as their digits; anything else invalid."""
    if value.__class__ is str:
        return None if value == "-" or not value else value
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _INVALID
