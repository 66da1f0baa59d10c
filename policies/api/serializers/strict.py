"""Refuse body fields a serializer does not know, instead of dropping them without a word.

DRF ignores unknown keys, so a misspelt field (``"mehtod": "POST"``, ``"mTLS": false``) was
answered as if the request had been understood, with the default in its place. Read-only
fields stay accepted so that what a GET returned can be sent back as is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail


class StrictFieldsMixin:
    """A serializer mixin: a mapping with a key that is not one of ``fields`` is a 400 naming that key."""

    fields: Any

    def to_internal_value(self, data: Any) -> Any:
        unknown = self._unknown_field_errors(data)
        try:
            value = super().to_internal_value(data)  # type: ignore[misc]
        except serializers.ValidationError as exc:
            # NB: report the unknown fields together with the other errors, not one kind at a time.
            if unknown and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **unknown}) from exc
            raise
        if unknown:
            raise serializers.ValidationError(unknown)
        return value

    def _unknown_field_errors(self, data: Any) -> dict[str, list[ErrorDetail]]:
        if not isinstance(data, Mapping):
            return {}
        message = _("Unknown field; check its spelling against the API schema.")
        return {str(key): [ErrorDetail(message, code="unknown_field")] for key in data if key not in self.fields}
