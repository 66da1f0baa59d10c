"""One error shape for the whole API: ``{"errors": [{"code", "path", "message"}, ...]}``.

Clients script against the API, so every refusal, whatever raised it (DRF's own checks, a
serializer, a workflow verb, a core validation finding, the body reader), reaches them in the
same shape with a stable machine code and the JSON path of the offending field. The DRF
exception handler below is the single place that shape is produced.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from django.utils.log import log_response
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import set_rollback

from policies.core.findings import Finding, Severity, json_path
from policies.services import ServiceError

DATABASE_ERRORS = (OperationalError, InterfaceError)  # NB: not DataError/IntegrityError: those are the request's


class ApiError(exceptions.APIException):
    """An API refusal that already knows its error entries (code, path, message)."""

    def __init__(self, message: str, *, code: str | None = None, path: str = "") -> None:
        super().__init__(message, code or self.default_code)
        self.errors = [error_entry(code or self.default_code, path, message)]


class ConflictError(ApiError):
    """The request clashes with existing state (a name taken, a gateway still in use)."""

    status_code = status.HTTP_409_CONFLICT
    default_code = "conflict"


class PreconditionFailedError(ApiError):
    """``If-Match`` names a version that is no longer current."""

    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_code = "precondition_failed"


class PreconditionRequiredError(ApiError):
    """A write that needs ``If-Match`` came without it (RFC 6585)."""

    status_code = status.HTTP_428_PRECONDITION_REQUIRED
    default_code = "precondition_required"


class RequestTooLargeError(ApiError):
    """The body is over the 1 MiB limit; it was not read."""

    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "request_too_large"


class DatabaseUnavailableError(ApiError):
    """The database cannot be reached or stays locked; nothing was changed, the client may retry."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_code = "database_unavailable"
    wait = 5  # NB: sent as Retry-After, like Throttled's

    def __init__(self) -> None:
        message = _("The database is unavailable; nothing was changed. Try again in %(seconds)d seconds.")
        super().__init__(message % {"seconds": self.wait})


class BodyUnreadableError(ApiError):
    """The body is not well-formed JSON/YAML, or not the expected kind of value."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "parse_error"


class FindingsInvalidError(ApiError):
    """Validation findings refuse the request; each error finding becomes one entry."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, findings: list[Finding]) -> None:
        super().__init__(_("The document has validation errors."))
        self.errors = findings_to_errors(findings)


def error_entry(code: str, path: str, message: str) -> dict[str, str]:
    """One element of the ``errors`` list."""
    return {"code": str(code), "path": path, "message": str(message)}


def findings_to_errors(findings: list[Finding]) -> list[dict[str, str]]:
    """Every error-severity finding as an error entry (warnings do not refuse anything)."""
    return [error_entry(f.code, f.path, _with_line(f)) for f in findings if f.severity is Severity.ERROR]


def _with_line(finding: Finding) -> str:
    message = finding.render(_)
    return f"{message} (line {finding.line})" if finding.line else message


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF exception handler: render every known refusal as ``{"errors": [...]}``."""
    if isinstance(exc, DATABASE_ERRORS):
        response = api_exception_handler(DatabaseUnavailableError(), context)
        request = context.get("request")
        # NB: logged here, with the traceback, because the answer is no longer an exception to Django.
        log_response("%s: %s", "Service Unavailable", getattr(request, "path", ""), response=response, exception=exc)
        return response
    if isinstance(exc, ServiceError):
        errors = findings_to_errors(exc.findings) or [error_entry(exc.code, exc.path, exc.message)]
        _json_unless_yaml_asked(context.get("request"))
        return _response(exc.status, errors)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(*exc.args)
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(*exc.args)
    if not isinstance(exc, exceptions.APIException):
        return None
    headers: dict[str, str] = {}
    if auth_header := getattr(exc, "auth_header", None):  # NB: set by NotAuthenticated/AuthenticationFailed
        headers["WWW-Authenticate"] = auth_header
    if wait := getattr(exc, "wait", None):  # NB: set by Throttled
        headers["Retry-After"] = str(int(wait))
    errors = exc.errors if isinstance(exc, ApiError) else list(_flatten(exc.detail, ()))
    _json_unless_yaml_asked(context.get("request"))
    return _response(exc.status_code, errors, headers)


def _json_unless_yaml_asked(request: Any) -> None:
    """Errors are JSON unless the client named YAML in Accept (manifests default to YAML)."""
    accepted = getattr(request, "accepted_media_type", None) or ""
    if "yaml" in accepted and "yaml" not in request.headers.get("Accept", ""):
        request.accepted_renderer, request.accepted_media_type = JSONRenderer(), JSONRenderer.media_type


def _response(status_code: int, errors: list[dict[str, str]], headers: dict[str, str] | None = None) -> Response:
    set_rollback()
    return Response({"errors": errors}, status=status_code, headers=headers)


def _flatten(detail: Any, path: tuple[str | int, ...]) -> Iterator[dict[str, str]]:
    """DRF's nested error detail → entries with JSON paths (``ports[1].number``)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            inner = path if key in ("non_field_errors", "detail") else (*path, _path_part(key))
            yield from _flatten(value, inner)
    elif isinstance(detail, list):
        for index, item in enumerate(detail):
            yield from _flatten(item, (*path, index) if isinstance(item, dict | list) else path)
    else:
        yield error_entry(getattr(detail, "code", "invalid"), json_path(path), str(detail))


def _path_part(key: Any) -> str | int:
    """A list index stays an index; any other key is a field name, whatever its characters.

    NB: DRF keys list-item errors by ``int``; a string of digits ("0", "²", "١") is a field
    name the client sent, never an index, and ``int()`` refuses most Unicode digits anyway.
    """
    return key if isinstance(key, int) else str(key)
