"""Revision pages and downloads: view any revision, export the CR or its Istio objects as YAML."""

from __future__ import annotations

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from policies.exports import export_yaml
from policies.views.common import get_policy

EXPORT_KINDS = frozenset({"cr", "istio"})


def revision_detail(request, name: str, number: int):
    """One immutable revision: who, when, why, and its CR."""
    policy = get_policy(name)
    revision = policy.revisions.select_related("author").filter(number=number).first()
    if revision is None:
        raise Http404(_("Policy %(name)s has no revision %(number)d.") % {"name": name, "number": number})
    context = {
        "policy": policy,
        "gateway": policy.gateway,
        "revision": revision,
        "cr_yaml": export_yaml(revision.document, policy.gateway, "cr"),
    }
    return render(request, "policies/revision_detail.html", context)


def export(request, name: str, kind: str):
    """Download the draft (or ``?revision=N``) as the CR (``kind=cr``) or its Istio objects (``kind=istio``)."""
    if kind not in EXPORT_KINDS:
        raise Http404(_("Export 'cr' or 'istio', not %(kind)s.") % {"kind": kind})
    policy = get_policy(name)
    document, label = policy.draft.document, "draft"
    if (requested := request.GET.get("revision", "")).isascii() and requested.isdigit():
        # NB: "²".isdigit() is true but int() refuses it; past 18 digits no revision number fits a bigint.
        revision = policy.revisions.filter(number=int(requested)).first() if len(requested) <= 18 else None
        if revision is None:
            raise Http404(_("Policy %(name)s has no such revision.") % {"name": name})
        document, label = revision.document, f"r{revision.number}"
    response = HttpResponse(export_yaml(document, policy.gateway, kind), content_type="application/yaml; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{policy.name}-{label}-{kind}.yaml"'
    return response
