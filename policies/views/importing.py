"""Import a policy from pasted or uploaded YAML into a new draft."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from policies import services
from policies.forms import PolicyImportForm
from policies.services import ServiceError
from policies.views.common import findings_json


def import_policy(request):
    """GET: the import form. POST: store the policy as a new draft (or a new policy) and open it."""
    form = PolicyImportForm(request.POST or None, request.FILES or None)
    context = {"form": form, "findings": [], "refusal": None, "source_text": request.POST.get("text", "")}
    if request.method == "POST" and form.is_valid():
        raw = form.policy_bytes()
        try:
            policy, created = services.import_policy_text(raw, user=request.user)
        except ServiceError as exc:
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            context.update(refusal=exc, findings=findings_json(exc.findings), source_text=text)
        else:
            messages.success(request, _import_message(policy, created))
            return redirect("policies:policy-edit", policy.name)
    return render(request, "policies/import.html", context, status=400 if context["refusal"] else 200)


def _import_message(policy, created: bool) -> str:
    if created:
        return _("Imported %(name)s: a new policy with revision 1.") % {"name": policy.name}
    return _("Imported into %(name)s as a new draft version; save it as a revision when ready.") % {"name": policy.name}
