"""Server-side failures, answered in the shape each client reads and always logged.

A stopped or locked database is not a bug in the request: the API answers ``503`` in its own
error shape with ``Retry-After`` (``policies.api.errors``), the console a readable page, and the
failure is logged with its traceback and request id. Any other uncaught error is a ``500`` in the
same two shapes instead of Django's bare "Server Error (500)". The pages are rendered without
the request context, which would query the database (the signed-in user) that may be down.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.log import log_response
from django.utils.translation import gettext as _

from policies.api.errors import DATABASE_ERRORS, DatabaseUnavailableError, error_entry


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with ``Retry-After``: the API's error shape under ``/api/``, a console page elsewhere."""
    refusal = DatabaseUnavailableError()
    headers = {"Retry-After": str(refusal.wait)}
    if _is_api(request):
        return JsonResponse({"errors": refusal.errors}, status=503, headers=headers)
    page = render_to_string("503.html", {"message": str(refusal.detail), "retry_after": refusal.wait})
    return HttpResponse(page, status=503, headers=headers)


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500`` (Django has logged the error with its traceback): answer in the client's shape."""
    if isinstance(sys.exc_info()[1], DATABASE_ERRORS):
        return database_unavailable(request)
    message = _("The server could not answer this request. The error has been logged; please try again later.")
    if _is_api(request):
        return JsonResponse({"errors": [error_entry("server_error", "", message)]}, status=500)
    return HttpResponse(render_to_string("500.html", {"message": message}), status=500)


class DatabaseUnavailableMiddleware:
    """A database error raised by a console view becomes the 503 page, logged with its traceback.

    NB: DRF views never get here (their exception handler answers first); errors raised outside
    any view, e.g. loading the session's user, reach ``server_error`` when DEBUG is off.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, DATABASE_ERRORS):
            return None
        response = database_unavailable(request)
        log_response("%s: %s", response.reason_phrase, request.path, response=response, exception=exception)
        return response


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")
