"""Envoy access-log lines as Istio's sidecars write them, read one line at a time.

Istio configures the sidecar's file access log with one of two built-in formats (istio/istio
``pilot/pkg/model/telemetry_logging.go``, Istio 1.9 onwards): ``meshConfig.accessLogEncoding:
TEXT`` uses ``EnvoyTextLogFormat``::

    [%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" %RESPONSE_CODE%
    %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS%
    "%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION%
    %RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%"
    "%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW%
    %UPSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS%
    %REQUESTED_SERVER_NAME% %ROUTE_NAME%\\n

(one line, single spaces), and ``JSON`` uses ``EnvoyJSONLogFormatIstio``: one JSON object per
line with the same operators under the keys ``start_time``, ``method``, ``path``, ``protocol``,
``response_code``, ``response_flags``, ``response_code_details``,
``connection_termination_details``, ``upstream_transport_failure_reason``, ``bytes_received``,
``bytes_sent``, ``duration``, ``upstream_service_time``, ``x_forwarded_for``, ``user_agent``,
``request_id``, ``authority``, ``upstream_host``, ``upstream_cluster``,
``upstream_local_address``, ``downstream_local_address``, ``downstream_remote_address``,
``requested_server_name``, ``route_name``. Envoy writes ``-`` (TEXT) or ``null``/``"-"`` (JSON)
for a value it does not have, e.g. the method of a TCP connection.

Lines may carry the prefix ``kubectl logs --prefix`` adds (``[pod/NAME/CONTAINER] ``), so a
whole namespace's logs can be read at once, and the time ``--timestamps`` adds after it. Any
other line (a custom format, the proxy's own log lines, binary junk, a truncated line) is
*refused* with its line number, a stable code and a reason: never dropped silently, never
guessed at.

Usage::

    with open(path, "rb") as handle:
        for item in read_access_log(handle):
            if isinstance(item, RefusedLine):
                print(f"{path}:{item.line}: {item.code} {item.reason}")
            else:
                use(item)  # an AccessLogEntry

``read_access_log`` streams: it holds one line (at most ``MAX_LINE_BYTES``) at a time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import IO, Any

from policies.core.discovery.entry import (
    BAD_FIELD,
    EXCERPT_CHARS,
    INCOMPLETE_JSON,
    LINE_TOO_LONG,
    NOT_UTF8,
    PROXY_LOG_LINE,
    UNKNOWN_FORMAT,
    AccessLogEntry,
    LogFormat,
    RefusedLine,
    bad_field,
    is_instant,
    refused,
)
from policies.core.discovery.jsonformat import JSON_FIELDS, SIGNATURE_FIELDS, FastLayout, parse_json_line
from policies.core.i18n import _

__all__ = [
    "BAD_FIELD",
    "INCOMPLETE_JSON",
    "JSON_FIELDS",
    "LINE_TOO_LONG",
    "MAX_LINE_BYTES",
    "NOT_UTF8",
    "PROXY_LOG_LINE",
    "TEXT_FAST",
    "UNKNOWN_FORMAT",
    "AccessLogEntry",
    "LogFormat",
    "RefusedLine",
    "numbered_lines",
    "parse_line",
    "read_access_log",
    "read_line",
    "refused",
]
MAX_LINE_BYTES = 64 * 1024

# NB: one precompiled pattern over the whole fixed format is ~3x faster than splitting it by hand.
_TEXT_LINE = re.compile(
    r"\[(?P<start_time>\d{4}-\d\d-\d\dT[0-9:.]+Z)\] "
    r'"(?P<method>\S+) (?P<path>\S+) (?P<protocol>\S+)" '
    r"(?P<response_code>\d+) (?P<response_flags>\S+) (?P<response_code_details>\S+) "
    r'(?:\S+) "(?:[^"]*)" '  # NB: fields no flow uses are matched without capturing (faster).
    r"(?:\d+|-) (?:\d+|-) (?:\d+|-) (?:\S+) "
    r'"(?:[^"]*)" "(?:.*?)" "(?:[^" ]*)" '
    r'"(?P<authority>[^" ]*)" "(?P<upstream_host>[^" ]*)" (?P<upstream_cluster>\S+) '
    r"(?:\S+) (?P<downstream_local_address>\S+) (?P<downstream_remote_address>\S+) "
    r"(?P<requested_server_name>\S+) (?P<route_name>\S+)\Z"
)
_KUBECTL_PREFIX_PATTERN = r"\[pod/(?P<pod>[a-z0-9][-a-z0-9.]*)/(?P<container>[a-z0-9][-a-z0-9]*)\] "
_PREFIXED_TEXT_LINE = re.compile(f"(?:{_KUBECTL_PREFIX_PATTERN})?{_TEXT_LINE.pattern}")
# NB: the flow aggregator's fast path: a match is an entry once its start time is a real instant.
TEXT_FAST = FastLayout(
    _PREFIXED_TEXT_LINE,
    _PREFIXED_TEXT_LINE.groupindex["start_time"],
    tuple(_PREFIXED_TEXT_LINE.groupindex[name] for name in ("pod", *SIGNATURE_FIELDS)),
)
_TEXT_START = re.compile(r"\[\d{4}-\d\d-\d\dT[0-9:.]+Z\] \"")
_KUBECTL_PREFIX = re.compile(_KUBECTL_PREFIX_PATTERN)
# ``kubectl logs --timestamps`` puts the kubelet's RFC 3339 time before each line.
_KUBECTL_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d) (?=[\[{])")
# pilot-agent's and Envoy's own lines in the istio-proxy container: "2024-05-01T10:00:00.000000Z\tinfo\t..."
_PROXY_LOG = re.compile(r"(\d{4}-\d\d-\d\dT\S+\s+(debug|info|warn|warning|error|critical)\s|\[\d{4}-\d\d-\d\d \S+\]\[)")


def read_access_log(stream: IO[bytes] | Iterable[bytes], first_line: int = 1) -> Iterator[AccessLogEntry | RefusedLine]:
    """Every line of ``stream`` as an entry or a refusal, in order; blank lines are skipped.

    Args:
        stream: A binary file (read line by line, at most ``MAX_LINE_BYTES`` held at once) or
            any iterable of byte lines.
        first_line: Number of the first line (for inputs that continue another).

    Yields:
        ``AccessLogEntry`` for each access-log line, ``RefusedLine`` for every other non-blank line.
    """
    for number, raw in numbered_lines(stream, first_line):
        item = read_line(raw, number, first_line)
        if item is not None:
            yield item


def read_line(raw: bytes | RefusedLine, number: int, first_line: int = 1) -> AccessLogEntry | RefusedLine | None:
    """One line as ``numbered_lines`` gives it: an entry, a refusal, or None for a blank line."""
    if isinstance(raw, RefusedLine):
        return raw
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return refused(
            number,
            NOT_UTF8,
            _("Not text: byte {offset} is not UTF-8 (binary data?)."),
            raw[:EXCERPT_CHARS].decode("utf-8", "replace"),
            offset=exc.start + 1,
        )
    text = text.rstrip("\r\n")
    if number == first_line and text.startswith("\ufeff"):
        text = text[1:]  # NB: editors on Windows start a saved log with a byte order mark.
    if text and not text.isspace():  # NB: what strip() would leave empty, without copying the line.
        return parse_line(text, number)
    return None


def numbered_lines(
    stream: IO[bytes] | Iterable[bytes], first_line: int = 1
) -> Iterator[tuple[int, bytes | RefusedLine]]:
    """Each line with its number; a line longer than ``MAX_LINE_BYTES`` is refused, not held whole."""
    readline = getattr(stream, "readline", None)
    if readline is None:
        for number, raw in enumerate(stream, first_line):
            yield number, raw if len(raw.rstrip(b"\r\n")) <= MAX_LINE_BYTES else _too_long(number, raw)
        return
    number = first_line
    while raw := readline(MAX_LINE_BYTES + 1):
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while (rest := readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass  # NB: skip the rest of an overlong line without ever holding it.
            yield number, _too_long(number, raw)
        else:
            yield number, raw
        number += 1


def _too_long(number: int, raw: bytes) -> RefusedLine:
    return refused(
        number,
        LINE_TOO_LONG,
        _("The line is longer than {limit} bytes; access-log lines are far shorter (is this a log file?)."),
        raw[:EXCERPT_CHARS].decode("utf-8", "replace"),
        limit=MAX_LINE_BYTES,
    )


def parse_line(text: str, number: int) -> AccessLogEntry | RefusedLine:
    """One decoded line (without its newline): an access-log entry or the reason it is refused.

    Args:
        text: The line; a ``kubectl logs --prefix`` prefix is allowed.
        number: Its 1-based line number, carried into the result.
    """
    if text.startswith("["):
        match = _PREFIXED_TEXT_LINE.match(text)
        if match is not None:  # NB: the common TEXT line, prefixed or not, in one match.
            return _text_entry(match.groups(), number, text)
    pod = container = None
    if text.startswith("[pod/"):
        prefix = _KUBECTL_PREFIX.match(text)
        if prefix is not None:
            pod, container = prefix.group("pod", "container")
            text = text[prefix.end() :]
    if text[:1].isdigit():
        stamp = _KUBECTL_TIMESTAMP.match(text)
        if stamp is not None:
            text = text[stamp.end() :]
    if text.startswith("{"):
        return parse_json_line(text, number, pod, container)
    match = _TEXT_LINE.match(text)
    if match is not None:
        return _text_entry((pod, container, *match.groups()), number, text)
    return _unknown_line(text, number)


def _text_entry(values: tuple[Any, ...], number: int, text: str) -> AccessLogEntry | RefusedLine:
    """The entry of a matched TEXT line: pod and container (or None), then the format's fields."""
    pod, container, start, method, path, protocol, code, flags, *rest = values
    details, authority, upstream, cluster, local, remote, sni, route = rest
    if not is_instant(start):
        return bad_field(number, "start_time", start, text)
    return AccessLogEntry(
        number,
        "text",
        pod,
        container,
        start,
        None if method == "-" else method,
        None if path == "-" else path,
        None if protocol == "-" else protocol,
        int(code),
        () if flags == "-" else tuple(flags.split(",")),
        None if details == "-" else details,
        authority if authority and authority != "-" else None,
        upstream if upstream and upstream != "-" else None,
        None if cluster == "-" else cluster,
        None if local == "-" else local,
        None if remote == "-" else remote,
        None if sni == "-" else sni,
        None if route == "-" else route,
    )


def _unknown_line(text: str, number: int) -> RefusedLine:
    if _TEXT_START.match(text):
        return refused(
            number,
            UNKNOWN_FORMAT,
            _(
                "The line starts like Istio's default TEXT access log but its fields do not follow "
                "the default format (a custom accessLogFormat, or a truncated line)."
            ),
            text,
        )
    if _PROXY_LOG.match(text):
        return refused(
            number,
            PROXY_LOG_LINE,
            _("A log line of the proxy itself (pilot-agent or Envoy), not an access-log line."),
            text,
        )
    return refused(
        number,
        UNKNOWN_FORMAT,
        _("Not an access-log line in Istio's default TEXT or JSON format."),
        text,
    )
