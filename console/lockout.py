"""Sign-in lockout (django-axes): who counts as one client, and what a locked-out client is told.

django-axes counts failed sign-ins in the database (so every replica sees them) and refuses the
next attempt once a user name has failed ``AXES_FAILURE_LIMIT`` times from one address. This
module adapts it to the console: the refusal is a 429 page with ``Retry-After``, the client
address honours a configured number of trusted proxies, and in-process sign-ins without a
request (management commands, the test client) are not counted.
"""

from __future__ import annotations

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.helpers import get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' lockout check, skipped when there is no HTTP request to count.

    NB: every sign-in over HTTP (the console's and the admin's login views, DRF's session and basic
    authentication) passes its request; only in-process callers such as ``Client.login`` do not.
    """

    def authenticate(
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)


def client_address(request: HttpRequest) -> str | None:
    """The client's address: X-Forwarded-For's entry added by the outermost of TRUSTED_PROXY_COUNT proxies."""
    trusted = settings.TRUSTED_PROXY_COUNT
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if trusted and len(forwarded) >= trusted:
        return forwarded[-trusted]
    return request.META.get("REMOTE_ADDR")


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """429 with ``Retry-After`` and a page saying when signing in works again.

    NB: only the password sign-in pages (console, admin) get here; the API takes tokens and
    sessions, never a password, so it has no lockout of its own (its throttles answer 429).
    """
    cool_off = get_cool_off(request)
    seconds = math.ceil(cool_off.total_seconds()) if cool_off else 0
    message = _("Too many failed sign-in attempts. Try again in %(minutes)d minutes.") % {
        "minutes": math.ceil(seconds / 60)
    }
    page = render_to_string("registration/locked_out.html", {"message": message})
    return HttpResponse(page, status=429, headers={"Retry-After": str(seconds)})
