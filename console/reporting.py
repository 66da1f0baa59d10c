"""The debug error page without the secrets: connection URLs, tokens and passwords are masked.

Django's filter hides settings whose *name* looks secret (``SECRET_KEY``, ``...PASSWORD``). That
misses ``DATABASE_URL`` and any other connection URL, and under ``runserver`` the request's
environment (``META``) holds the whole process environment. This filter also hides names that
hold connection strings or credentials, and masks the credentials inside any value that carries
them (``scheme://user:password@host``, ``Bearer …``/``Token …``), in settings, in ``META`` and in
the traceback's local variables (which are also hidden by name, like settings).
"""

from __future__ import annotations

import re
from typing import Any

from django.views.debug import SafeExceptionReporterFilter

# NB: Django's own list, plus connection strings and credentials named other ways.
HIDDEN_NAMES = re.compile(
    r"API|AUTH|TOKEN|KEY|SECRET|PASS|SIGNATURE|HTTP_COOKIE|CREDENTIAL|PRIVATE|BEARER|SESSION|DATABASE_URL|DSN",
    flags=re.IGNORECASE,
)
URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-z][a-z0-9+.-]*://)[^/@\s]+@", flags=re.IGNORECASE)
AUTH_SCHEME_VALUE = re.compile(r"\b(?P<scheme>Bearer|Token|Basic)\s+\S+", flags=re.IGNORECASE)


def mask_credentials(text: str, substitute: str) -> str:
    """``text`` with the user info of every URL and the value of every auth header replaced."""
    text = URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{substitute}@", text)
    return AUTH_SCHEME_VALUE.sub(lambda m: f"{m['scheme']} {substitute}", text)


class SecretsMaskingReporterFilter(SafeExceptionReporterFilter):
    """``DEFAULT_EXCEPTION_REPORTER_FILTER``: what the debug page and error reports may show."""

    hidden_settings = HIDDEN_NAMES

    def cleanse_setting(self, key: Any, value: Any) -> Any:
        cleansed = super().cleanse_setting(key, value)
        # NB: str(): a lazy string (django-csp's nonce) passes isinstance(str) but re.sub refuses it
        return mask_credentials(str(cleansed), self.cleansed_substitute) if isinstance(cleansed, str) else cleansed

    def get_traceback_frame_variables(self, request: Any, tb_frame: Any) -> Any:
        variables = super().get_traceback_frame_variables(request, tb_frame)
        return [(name, self._cleanse_local(name, value)) for name, value in variables]

    def _cleanse_local(self, name: str, value: Any) -> Any:
        # NB: by name as for settings (``key`` too: DRF's token authentication calls its token that).
        if self.hidden_settings.search(name):
            return self.cleansed_substitute
        return mask_credentials(str(value), self.cleansed_substitute) if isinstance(value, str) else value
