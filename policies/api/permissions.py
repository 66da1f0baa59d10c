"""Who may do what through the API: any signed-in user reads, model permissions guard writes.

The console's users already carry Django's model permissions (``policies.add_egresspolicy``,
``change_…``, ``delete_…``), so the API reuses them instead of inventing roles. Actions that
only compute something from the stored state (simulating a request against a draft) are reads,
even though they are POSTs.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, DjangoModelPermissions
from rest_framework.request import Request


class ModelWritePermissions(DjangoModelPermissions):
    """Reads need authentication; writes need the add/change/delete permission of the model."""

    def has_permission(self, request: Request, view: Any) -> bool:
        # NB: a safe method maps to no model permission, so the model check would only clone a queryset.
        if request.method in SAFE_METHODS or getattr(view, "action", None) in getattr(view, "read_only_actions", ()):
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)
