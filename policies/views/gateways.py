"""Gateway list and gateway overview pages."""

from __future__ import annotations

from django.db.models import Count
from django.shortcuts import render

from policies.clusters import mesh_modes
from policies.models import EgressGateway
from policies.presenters import policy_summary
from policies.views.common import get_gateway


def gateway_list(request):
    """Every egress gateway with its ports and the state of its policy."""
    gateways = (
        EgressGateway.objects.select_related("policy", "policy__draft")
        .prefetch_related("ports")
        .annotate(revision_count=Count("policy__revisions"))
    )
    return render(request, "policies/gateway_list.html", {"gateways": gateways})


def gateway_detail(request, name: str):
    """One gateway: its Service ports and a summary of its policy."""
    gateway = get_gateway(name)
    policy = getattr(gateway, "policy", None)
    context = {"gateway": gateway, "policy": policy, **mesh_modes()}
    if policy is not None:
        context["summary"] = policy_summary(policy.draft)
        context["latest"] = policy.revisions.select_related("author").order_by("-number").first()
    return render(request, "policies/gateway_detail.html", context)
