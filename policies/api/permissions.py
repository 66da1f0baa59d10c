"""Who may do what through the API: any signed-in user reads, model permissions guard writes.

The console's users already carry Django's model permissions (``policies.add_egresspolicy``,
``change_…``, ``delete_…``), so the API reuses them instead of inventing roles. Actions that
only compute something from the stored state (simulating a request against a draft) are reads,
even though they are POSTs.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy
from rest_framework.permissions import SAFE_METHODS, BasePermission, DjangoModelPermissions
from rest_framework.request import Request

from policies.core.review import TRANSITIONS, ReviewAction
from policies.reviews import actor_of


class ModelWritePermissions(DjangoModelPermissions):
    """Reads need authentication; writes need the add/change/delete permission of the model."""

    def has_permission(self, request: Request, view: Any) -> bool:
        # NB: a safe method maps to no model permission, so the model check would only clone a queryset.
        if request.method in SAFE_METHODS or getattr(view, "action", None) in getattr(view, "read_only_actions", ()):
            return bool(request.user and request.user.is_authenticated)
        return super().has_permission(request, view)


class WorkflowStepPermission(BasePermission):
    """A review step needs a permission the workflow's table names for it; anything else needs an account.

    The view maps its actions to steps in ``workflow_steps``. This refuses a role that can never take
    the step before the body is read; whether it may take it *now* (state, authorship) the verb decides.
    """

    message = gettext_lazy("Your role does not allow this step of the review.")

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        step = getattr(view, "workflow_steps", {}).get(getattr(view, "action", None))
        if step is None:
            return True
        actor = actor_of(request.user)
        return any(actor.may(t.permission) for t in TRANSITIONS if t.action == ReviewAction(step))
