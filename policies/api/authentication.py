"""``Authorization: Token <key>`` checked with one compiled query per request.

DRF's ``TokenAuthentication`` builds and compiles an ORM query on every request, which costs
more than the rest of a cached manifests request. This subclass keeps its header parsing, its
errors and its semantics (an unknown token or an inactive user is refused) and only swaps the
lookup for ``policies.selectors.token_user`` (and reads the one header it needs directly).
Nothing is cached between requests: a deleted token or a deactivated user is refused on the
very next one.
"""

from __future__ import annotations

from functools import partial
from types import SimpleNamespace
from typing import Any

from django.db import DEFAULT_DB_ALIAS
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token

from policies.selectors import token_user


class CompiledTokenAuthentication(TokenAuthentication):
    """Token authentication reading the token's user in one compiled query."""

    def authenticate(self, request: Any) -> tuple[Any, Any] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        # NB: DRF reads the header through request.headers, which copies every header of the request
        # first; handing it just this one keeps DRF's parsing and error messages without that copy.
        stand_in = SimpleNamespace(headers={"authorization": header})
        return super().authenticate(stand_in)  # type: ignore[arg-type]  # NB: DRF reads only .headers here

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user = token_user(key)
        if user is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # NB: request.auth stays a Token, as with DRF's class, built only if something reads it.
        return user, SimpleLazyObject(partial(Token.from_db, DEFAULT_DB_ALIAS, ["key", "user_id"], [key, user.pk]))
