"""Well-known asset URLs browsers ask for on their own."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponseRedirect
from django.templatetags.static import static
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe


@login_not_required
@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    """``/favicon.ico``, which pages without a ``<link rel=icon>`` (API docs, admin) make browsers fetch: the logo."""
    return HttpResponseRedirect(static("policies/img/logo.svg"))
