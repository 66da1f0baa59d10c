"""Our own errors for everything that can go wrong talking to a cluster.

The Kubernetes client raises its own exception types (``ApiException`` and urllib3's
connection errors) whose messages may embed request details. Callers above the cluster layer
must never see those: they get one of the classes below, each with a stable ``code`` for
scripts and the API, a human message that says what to do next, and the original exception
chained with ``from`` for debugging. Server response bodies are truncated before they reach a
message, and nothing here ever carries a header, so a bearer token cannot leak into logs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_BODY_CHARS = 400
_BEARER = re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+")


def truncate_body(text: str, limit: int = MAX_BODY_CHARS) -> str:
    """A server body fit for a message: bearer tokens masked, at most ``limit`` characters."""
    masked = _BEARER.sub("Bearer <redacted>", text)
    return masked if len(masked) <= limit else masked[:limit] + f"… ({len(masked) - limit} more characters)"


@dataclass(frozen=True)
class FieldCause:
    """One field-level reason the server gave (``status.details.causes[]``)."""

    field: str
    reason: str
    message: str


class ClusterError(Exception):
    """Base of every cluster-layer error; ``code`` is stable, ``message`` is for people."""

    code = "CLUSTER-E000"

    def __init__(self, message: str, *, status: int | None = None, causes: tuple[FieldCause, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.causes = causes

    def __str__(self) -> str:
        return f"[{self.code}] {self.message}"


class ClusterUnreachable(ClusterError):
    """The API server did not answer (refused, timed out, TLS failure, or 5xx/429 after every retry)."""

    code = "CLUSTER-E001"


class Unauthorized(ClusterError):
    """The server does not accept our credentials (HTTP 401)."""

    code = "CLUSTER-E002"


class Forbidden(ClusterError):
    """The credentials are valid but RBAC refuses this verb on this resource (HTTP 403)."""

    code = "CLUSTER-E003"

    def __init__(self, message: str, *, verb: str, resource: str, status: int | None = 403) -> None:
        super().__init__(message, status=status)
        self.verb = verb
        self.resource = resource


class CrdMissing(ClusterError):
    """The cluster does not serve the custom resource we need."""

    code = "CLUSTER-E004"

    def __init__(self, message: str, *, crd: str) -> None:
        super().__init__(message, status=404)
        self.crd = crd


class Invalid(ClusterError):
    """The server rejected an object (schema, CEL or admission); ``causes`` name the fields (HTTP 422/400)."""

    code = "CLUSTER-E005"


class Conflict(ClusterError):
    """Someone else owns the fields we set, or the object changed since we read it (HTTP 409)."""

    code = "CLUSTER-E006"

    def __init__(self, message: str, *, managers: tuple[str, ...] = (), causes: tuple[FieldCause, ...] = ()) -> None:
        super().__init__(message, status=409, causes=causes)
        self.managers = managers

    @property
    def fields(self) -> tuple[str, ...]:
        """The conflicting field paths, e.g. ``.spec.hosts``."""
        return tuple(c.field for c in self.causes)


class NotFound(ClusterError):
    """The object, or the namespace it should live in, does not exist (HTTP 404)."""

    code = "CLUSTER-E007"


class UnexpectedResponse(ClusterError):
    """The server answered with a status we have no better name for."""

    code = "CLUSTER-E008"


@dataclass(frozen=True)
class ServerStatus:
    """The parts of a Kubernetes ``Status`` body we use; tolerant of non-JSON bodies."""

    message: str
    reason: str = ""
    kind: str = ""
    name: str = ""
    causes: tuple[FieldCause, ...] = field(default=())

    @classmethod
    def parse(cls, body: str) -> ServerStatus:
        """Read a response body; a non-Status body becomes its truncated text."""
        try:
            data: Any = json.loads(body)
        except ValueError:
            return cls(message=truncate_body(body.strip()))
        if not isinstance(data, dict):
            return cls(message=truncate_body(body.strip()))
        raw_details = data.get("details")
        details: dict[str, Any] = raw_details if isinstance(raw_details, dict) else {}
        causes = tuple(
            FieldCause(str(c.get("field", "")), str(c.get("reason", "")), truncate_body(str(c.get("message", ""))))
            for c in details.get("causes") or ()
            if isinstance(c, dict)
        )
        return cls(
            message=truncate_body(str(data.get("message", ""))),
            reason=str(data.get("reason", "")),
            kind=str(details.get("kind", "")),
            name=str(details.get("name", "")),
            causes=causes,
        )


_MANAGER = re.compile(r'conflict with "([^"]+)"')
ASM_CRD_HINT = "install it with `python manage.py egress crd | kubectl apply -f -`"
ISTIO_CRD_HINT = "install Istio's CRDs (istioctl install, or the istio/base Helm chart)"


def crd_missing(crd: str) -> CrdMissing:
    """CrdMissing for a ``plural.group`` name, with the way to install it."""
    hint = ASM_CRD_HINT if crd.endswith("istio.alibabacloud.com") else ISTIO_CRD_HINT
    return CrdMissing(f"The cluster does not serve {crd}; {hint}.", crd=crd)


def error_from_response(status: int, body: str, *, verb: str, resource: str) -> ClusterError:
    """Map an HTTP error response to our error, naming the verb and ``resource`` (``plural.group``).

    Args:
        status: HTTP status code (>= 400).
        body: response body (a Kubernetes ``Status`` or plain text).
        verb: Kubernetes verb we attempted (get, list, patch, delete).
        resource: ``plural.group`` (``namespaces`` for the core group).
    """
    parsed = ServerStatus.parse(body)
    if status == 401:
        return Unauthorized(
            "The cluster rejected the credentials (401 Unauthorized); check the kubeconfig user.", status=401
        )
    if status == 403:
        return Forbidden(f"Forbidden: cannot {verb} {resource}: {parsed.message}", verb=verb, resource=resource)
    if status == 404:
        return _not_found(parsed, resource)
    if status == 409:
        return _conflict(parsed, resource)
    if status in (400, 422):
        return Invalid(_invalid_message(parsed, resource), status=status, causes=parsed.causes)
    if status == 429 or status >= 500:
        return ClusterUnreachable(f"The API server kept failing ({status}): {parsed.message}", status=status)
    return UnexpectedResponse(f"Unexpected {status} from the API server: {parsed.message}", status=status)


def _not_found(parsed: ServerStatus, resource: str) -> ClusterError:
    if not parsed.reason:  # NB: a plain-text 404 means the URL itself is not served: no such CRD/version.
        return crd_missing(resource)
    if parsed.kind == "namespaces":
        return NotFound(
            f"Namespace {parsed.name!r} does not exist; create it with `kubectl create namespace {parsed.name}`.",
            status=404,
        )
    return NotFound(parsed.message, status=404)


def _conflict(parsed: ServerStatus, resource: str) -> Conflict:
    owned = tuple(c for c in parsed.causes if c.reason == "FieldManagerConflict")
    if not owned:
        return Conflict(f"{parsed.message} (someone changed it since we read it; run again).", causes=parsed.causes)
    managers = tuple(dict.fromkeys(m for c in owned for m in _MANAGER.findall(c.message)))
    fields = ", ".join(c.field for c in owned)
    return Conflict(
        f"Field manager(s) {', '.join(managers)} own {fields} of {resource} {parsed.name}".rstrip()
        + "; re-run with --force-conflicts to take them over.",
        managers=managers,
        causes=owned,
    )


def _invalid_message(parsed: ServerStatus, resource: str) -> str:
    if not parsed.causes:
        return f"The server rejected {resource}: {parsed.message}"
    listed = "; ".join(f"{c.field}: {c.message}" for c in parsed.causes)
    return f"The server rejected {resource} {parsed.name}: {listed}"
