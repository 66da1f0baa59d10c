"""Masking of credentials in log lines, whatever logged them.

A log line may quote a request (an ``Authorization`` header, a form body), an exception message
or a setting. Tokens, passwords and the secret key must never reach the logs, so this filter,
attached to every handler, rewrites each record's message (and its traceback text) before any
formatter sees it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

from django.conf import settings

MASK = "********"
PATTERNS = [
    # Authorization: Token <key> / Bearer <jwt> / Basic <base64>
    re.compile(r"(?i)\b(token|bearer|basic)(\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # password=..., "password": "...", client_secret: ..., token=... in bodies, query strings and reprs
    re.compile(r"(?i)([\"']?\b\w*(?:password|passwd|secret|token|api_key)\w*[\"']?\s*[=:]\s*[\"']?)[^\s\"'&,;}]+"),
]


def redact(text: str) -> str:
    """``text`` with every token, password and the secret key replaced by ``MASK``."""
    secret = getattr(settings, "SECRET_KEY", "")
    if secret and secret in text:
        text = text.replace(secret, MASK)
    text = PATTERNS[0].sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    return PATTERNS[1].sub(lambda m: f"{m[1]}{MASK}", text)


class SecretsRedactingFilter(logging.Filter):
    """Rewrites each record's message and traceback with ``redact`` (it never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class AccessRequestIdFilter(logging.Filter):
    """Stamps gunicorn's access lines with the request id the response carried (``X-Request-ID``).

    NB: gunicorn logs a request after the response is sent, when the request's id is no longer
    current; its log record's arguments are the access-log atoms, response headers among them.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):
            record.request_id = record.args.get("{x-request-id}o") or getattr(record, "request_id", None)
        return True
