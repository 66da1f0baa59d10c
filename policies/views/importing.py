"""Import a policy from pasted or uploaded YAML into a new draft."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import RequestDataTooBig
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect

from policies import services
from policies.core.yamlio import MAX_INPUT_BYTES
from policies.forms import PolicyImportForm
from policies.services import PolicyTooLarge, ServiceError
from policies.views.common import BodyTooLarge, PermissionRefused, findings_json, require_perms

# NB: an import may create the policy or replace its draft; both permissions, as it cannot know in advance.
IMPORT_PERMS = ("policies.add_egresspolicy", "policies.change_egresspolicy")


# NB: exempt from the global CSRF check only to read the body first: that check reads the form too, and a
# paste over DATA_UPLOAD_MAX_MEMORY_SIZE would end there as Django's bare 400 instead of this page.
@csrf_exempt
def import_policy(request):
    """The import page; a form too large to read gets the page with its message (413), never a bare 400."""
    try:
        request.POST, request.FILES  # noqa: B018 - reading them parses the body, within Django's limits
    except RequestDataTooBig:
        return _too_large(request)
    return _checked_import(request)


def _too_large(request):
    refusal = BodyTooLarge(
        _(
            "The form is over the limit of %(form_limit)d bytes and was not read; nothing was imported. "
            "A policy may be at most %(limit)d bytes."
        )
        % {"form_limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE, "limit": MAX_INPUT_BYTES}
    )
    context = {"form": PolicyImportForm(), "findings": [], "refusal": refusal, "source_text": ""}
    return render(request, "policies/import.html", context, status=refusal.status)


@csrf_protect
def _checked_import(request):
    """GET: the import form. POST: store the policy as a new draft (or a new policy) and open it."""
    form = PolicyImportForm(request.POST or None, request.FILES or None)
    context = {"form": form, "findings": [], "refusal": None, "source_text": request.POST.get("text", "")}
    if request.method == "POST" and form.is_valid():
        raw = form.policy_bytes()
        try:
            require_perms(request, *IMPORT_PERMS)
            policy, created = services.import_policy_text(raw, user=request.user)
        except ServiceError as exc:
            text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
            context.update(refusal=exc, findings=findings_json(exc.findings), source_text=text)
        else:
            messages.success(request, _import_message(policy, created))
            return redirect("policies:policy-edit", policy.name)
    refused_form = request.method == "POST" and not form.is_valid()
    return render(request, "policies/import.html", context, status=_status(context["refusal"], refused_form))


def _status(refusal: Exception | None, refused_form: bool) -> int:
    if isinstance(refusal, (PermissionRefused, BodyTooLarge, PolicyTooLarge)):
        return refusal.status
    return 400 if refusal is not None or refused_form else 200


def _import_message(policy, created: bool) -> str:
    if created:
        return _("Imported %(name)s: a new policy with revision 1.") % {"name": policy.name}
    return _("Imported into %(name)s as a new draft version; save it as a revision when ready.") % {"name": policy.name}
