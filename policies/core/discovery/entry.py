"""What reading one access-log line gives: an entry, or a refusal with a stable code and a reason.

Shared by both encodings (``accesslog`` for TEXT and the line loop, ``jsonformat`` for JSON);
callers import these names from ``accesslog``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from policies.core.i18n import _

LogFormat = Literal["text", "json"]
EXCERPT_CHARS = 120

# Stable refusal codes (the console, the API and the CLI show them next to the line number).
NOT_UTF8 = "EGRESS-LOG01"
LINE_TOO_LONG = "EGRESS-LOG02"
UNKNOWN_FORMAT = "EGRESS-LOG03"
INCOMPLETE_JSON = "EGRESS-LOG04"
BAD_FIELD = "EGRESS-LOG05"
PROXY_LOG_LINE = "EGRESS-LOG06"


class AccessLogEntry(NamedTuple):
    """One access-log line in either of Istio's default encodings, with ``-`` read as None.

    NB: a named tuple, not a frozen dataclass: one is built per line, and this is 3x cheaper.

    Attributes:
        line: 1-based line number in its input.
        format: ``text`` or ``json``.
        pod: Pod name from a ``kubectl logs --prefix`` prefix, else None.
        container: Container name from that prefix, else None.
        start_time: ``%START_TIME%``, ISO 8601 in UTC (``2024-05-01T10:00:00.123Z``).
        method: ``%REQ(:METHOD)%`` (None for TCP/TLS connections).
        path: ``%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%``.
        protocol: ``%PROTOCOL%``: ``HTTP/1.1``, ``HTTP/2`` ... or None for TCP/TLS.
        response_code: ``%RESPONSE_CODE%``; 0 for TCP/TLS connections.
        response_flags: ``%RESPONSE_FLAGS%`` split on commas (``("UF", "URX")``); empty for ``-``.
        response_code_details: ``%RESPONSE_CODE_DETAILS%`` (``via_upstream``, ``direct_response`` ...).
        authority: ``%REQ(:AUTHORITY)%``: the HTTP host (may carry a port).
        upstream_host: ``%UPSTREAM_HOST%``: the address the proxy connected to.
        upstream_cluster: ``%UPSTREAM_CLUSTER_RAW%``: ``PassthroughCluster``, ``outbound|443||host`` ...
        downstream_local_address: ``%DOWNSTREAM_LOCAL_ADDRESS%``: the original destination ``ip:port``.
        downstream_remote_address: ``%DOWNSTREAM_REMOTE_ADDRESS%``: the client's ``ip:port``.
        requested_server_name: ``%REQUESTED_SERVER_NAME%``: the TLS SNI.
        route_name: ``%ROUTE_NAME%`` (``allow_any``, ``block_all``, a VirtualService route ...).
    """

    line: int
    format: LogFormat
    pod: str | None
    container: str | None
    start_time: str
    method: str | None
    path: str | None
    protocol: str | None
    response_code: int
    response_flags: tuple[str, ...]
    response_code_details: str | None
    authority: str | None
    upstream_host: str | None
    upstream_cluster: str | None
    downstream_local_address: str | None
    downstream_remote_address: str | None
    requested_server_name: str | None
    route_name: str | None


@dataclass(frozen=True, slots=True)
class RefusedLine:
    """A line that is not an access log in Istio's default TEXT or JSON format.

    Attributes:
        line: 1-based line number in its input.
        code: Stable code (``EGRESS-LOG01`` ... ``EGRESS-LOG08``).
        reason: What is wrong, in English (``template`` filled from ``params``).
        excerpt: The start of the line (printable characters only), to find it again.
        template: The translatable reason with ``{placeholders}``.
        params: Values for the placeholders.
    """

    line: int
    code: str
    template: str
    params: tuple[tuple[str, Any], ...] = ()
    excerpt: str = ""

    @property
    def reason(self) -> str:
        """The reason in English."""
        return self.template.format(**dict(self.params))

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: line, code, reason, excerpt."""
        return {"line": self.line, "code": self.code, "reason": self.reason, "excerpt": self.excerpt}


def refused(line: int, code: str, template: str, excerpt: str = "", **params: Any) -> RefusedLine:
    """A ``RefusedLine`` from a template marked with ``_`` and its params."""
    return RefusedLine(line, code, template, tuple(params.items()), printable(excerpt))


def is_instant(text: str) -> bool:
    """A real UTC instant (the patterns check only its shape: ``2024-13-45T…`` has it too)."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def bad_field(number: int, name: str, value: Any, text: str) -> RefusedLine:
    return refused(
        number,
        BAD_FIELD,
        _("Field '{field}' has the value {value}, which Istio's access log never writes there."),
        text,
        field=name,
        value=printable(json.dumps(value, ensure_ascii=False))[:40],
    )


def printable(text: str) -> str:
    """The first characters of ``text`` with control characters shown as ``?`` (safe to print)."""
    short = text[:EXCERPT_CHARS]
    return "".join(ch if ch.isprintable() else "?" for ch in short)
