"""The policy editor page (Form, YAML, Istio objects, Simulate, History) and its save actions.

The page itself is rendered once; editing happens in the browser, which posts the whole
document as JSON to the preview, save and revision endpoints. Saves name the draft version the
editor started from, so a concurrent change is refused (412) instead of overwritten, and the
editor keeps the user's work on screen.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from policies import services
from policies.clusters import simulation_choices
from policies.models import EgressPolicy
from policies.previews import preview_data
from policies.services import ServiceError
from policies.views.common import error_response, get_gateway, get_policy, json_body, require_perms
from policies.views.preview import preview_json
from policies.views.strings import editor_strings

ADD_POLICY = "policies.add_egresspolicy"
CHANGE_POLICY = "policies.change_egresspolicy"


def policy_list(request):
    """Every policy with its gateway, draft version and revision count."""
    policies = EgressPolicy.objects.select_related("gateway", "draft", "draft__updated_by").order_by("name")
    return render(request, "policies/policy_list.html", {"policies": policies})


def policy_edit(request, name: str):
    """The editor for an existing policy's working draft."""
    policy = get_policy(name)
    revisions = list(policy.revisions.select_related("author").order_by("-number"))
    context = editor_context(request, policy.gateway, policy.draft.document, policy.draft.version, policy)
    context.update({"policy": policy, "revisions": revisions, "draft": policy.draft})
    return render(request, "policies/policy_edit.html", context)


def policy_new(request, gateway_name: str):
    """The editor for a gateway that has no policy yet, starting from an empty document."""
    gateway = get_gateway(gateway_name)
    existing = getattr(gateway, "policy", None)
    if existing is not None:
        return redirect("policies:policy-edit", existing.name)
    context = editor_context(request, gateway, services.new_policy_document(gateway), None, None)
    context.update({"policy": None, "revisions": [], "is_new": True})
    return render(request, "policies/policy_edit.html", context)


def editor_context(request, gateway, document, version, policy) -> dict:
    """Everything the editor script needs, embedded in the page as JSON."""
    description = gateway.describe()
    config = {
        "document": document,
        "version": version,
        "gateway": {"name": gateway.name, "ports": [p.model_dump() for p in description.ports]},
        # NB: without the Istio objects, which the script fetches at once: they would double the page's weight.
        "preview": preview_json(preview_data(document, description), with_objects=False),
        "urls": _editor_urls(gateway, policy),
        "strings": editor_strings(),
    }
    needed = (CHANGE_POLICY,) if policy is not None else (ADD_POLICY,)
    return {
        "gateway": gateway,
        "editor_config": config,
        "can_edit": request.user.has_perms(needed),
        "sim_clusters": simulation_choices(),
    }


def _editor_urls(gateway, policy) -> dict[str, str]:
    urls = {
        "preview": reverse("policies:preview", args=[gateway.name]),
        "simulate": reverse("policies:simulate", args=[gateway.name]),
        "reachability": reverse("policies:reachability", args=[gateway.name]),
        "create": reverse("policies:policy-create", args=[gateway.name]),
    }
    if policy is not None:
        urls["save"] = reverse("policies:policy-save", args=[policy.name])
        urls["commit"] = reverse("policies:policy-commit", args=[policy.name])
    return urls


@require_POST
def policy_create(request, gateway_name: str):
    """Create the gateway's policy from the editor's document (must be valid)."""
    try:
        require_perms(request, ADD_POLICY)
        body = json_body(request)
        policy = services.create_policy(body.get("document"), user=request.user, message=body.get("message") or "")
    except ServiceError as exc:
        return error_response(exc)
    return JsonResponse(
        {
            "redirect": reverse("policies:policy-edit", args=[policy.name]),
            "message": _("Policy %(name)s created as revision 1.") % {"name": policy.name},
        },
        status=201,
    )


@require_POST
def policy_save(request, name: str):
    """Save the editor's document as the new draft version, if the draft is still at ``version``."""
    policy = get_policy(name)
    try:
        require_perms(request, CHANGE_POLICY)
        body = json_body(request)
        draft = services.save_draft(policy, body.get("document"), expected_version=_version(body), user=request.user)
    except ServiceError as exc:
        return error_response(exc)
    return JsonResponse(
        {"version": draft.version, "message": _("Draft saved as version %(version)d.") % {"version": draft.version}}
    )


@require_POST
def policy_commit(request, name: str):
    """Save the editor's document and snapshot it as a revision with the user's message."""
    policy = get_policy(name)
    latest_before = policy.revisions.order_by("-number").values_list("number", flat=True).first()
    try:
        require_perms(request, CHANGE_POLICY)
        body = json_body(request)
        draft, revision = services.save_revision(
            policy,
            body.get("document"),
            expected_version=_version(body),
            user=request.user,
            message=str(body.get("message") or "")[:500],
        )
    except ServiceError as exc:
        return error_response(exc)
    # NB: the service answers the latest revision when nothing changed; the user's message is then not recorded.
    created = revision.number != latest_before
    if created:
        message = _("Saved as revision %(number)d.") % {"number": revision.number}
    else:
        message = _("Nothing changed since revision %(number)d, so no new revision was made.") % {
            "number": revision.number
        }
    # The editor reloads the page after a commit: the message is shown there.
    messages.add_message(request, messages.SUCCESS if created else messages.INFO, message)
    return JsonResponse({"version": draft.version, "revision": revision.number, "created": created, "message": message})


def _version(body: dict) -> int:
    version = body.get("version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise services.StaleDraft(_("The request does not say which draft version it edits; reload the page."))
    return version
