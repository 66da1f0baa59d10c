"""Cluster pages: the list, one cluster (its last check and every policy applied there), the admin's
register/edit/delete forms and the "Check connection" action.

Pages only read what the last check stored; the check itself (``policies.clusters.check_cluster``) is
the one request that calls the cluster, bounded by the check's timeouts, and its outcome is shown as
a message on the cluster's page. Who may do what is the API's rule: everyone reads, admins manage,
operators and admins check.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from policies import clusters
from policies.cluster_status import policy_statuses
from policies.forms_clusters import ClusterForm
from policies.models import Cluster
from policies.services import ServiceError


def _abilities(user) -> dict[str, bool]:
    return {
        "can_manage": user.has_perms(clusters.MANAGE_PERMISSIONS.values()),
        "can_check": user.has_perm(clusters.CHECK_PERMISSION),
    }


def _require(request, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(_("Your role may not do this to clusters."))


def _cluster(name: str) -> Cluster:
    return get_object_or_404(Cluster.objects.select_related("checked_by"), name=name)


def cluster_list(request):
    """Every cluster with its reachability, targets, outbound mode, Sidecars and last check."""
    found = list(Cluster.objects.select_related("checked_by"))
    allow_any = [c.name for c in found if c.outbound_mode == "ALLOW_ANY"]
    context = {
        "clusters": [(c, clusters.ClusterSidecars.of(c)) for c in found],
        "allow_any": allow_any,
        "sidecar_notes": clusters.sidecar_notes(found),
        **_abilities(request.user),
    }
    return render(request, "policies/cluster_list.html", context)


def cluster_detail(request, name: str):
    """One cluster: the last check and, per policy, the applied revision, when, by whom and its drift."""
    cluster = _cluster(name)
    context = {
        "cluster": cluster,
        "statuses": policy_statuses(cluster),
        "allow_any": [cluster.name],
        "sidecars": clusters.ClusterSidecars.of(cluster),
        "sidecar_notes": clusters.sidecar_notes([cluster]),
        **_abilities(request.user),
    }
    return render(request, "policies/cluster_detail.html", context)


@require_http_methods(["GET", "POST"])
def cluster_new(request):
    """Register a cluster (admins)."""
    _require(request, clusters.MANAGE_PERMISSIONS["add"])
    return _form_page(request, ClusterForm(request.POST or None), created=True)


@require_http_methods(["GET", "POST"])
def cluster_edit(request, name: str):
    """Change a cluster's location or description (admins)."""
    _require(request, clusters.MANAGE_PERMISSIONS["change"])
    return _form_page(request, ClusterForm(request.POST or None, instance=_cluster(name)), created=False)


def _form_page(request, form: ClusterForm, *, created: bool):
    if request.method == "POST" and form.is_valid():
        try:
            cluster = clusters.save_cluster(form.save(commit=False), user=request.user, created=created)
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("Cluster %(name)s saved; check its connection next.") % {"name": cluster.name})
            return redirect("policies:cluster-detail", cluster.name)
    return render(request, "policies/cluster_form.html", {"form": form, "created": created})


@require_http_methods(["GET", "POST"])
def cluster_delete(request, name: str):
    """Confirm, then delete a cluster nothing was applied to (admins)."""
    _require(request, clusters.MANAGE_PERMISSIONS["delete"])
    cluster = _cluster(name)
    if request.method == "POST":
        try:
            clusters.delete_cluster(cluster, user=request.user)
        except ServiceError as exc:
            messages.error(request, exc.message)
            return redirect("policies:cluster-detail", cluster.name)
        messages.success(request, _("Cluster %(name)s deleted.") % {"name": name})
        return redirect("policies:cluster-list")
    return render(request, "policies/cluster_confirm_delete.html", {"cluster": cluster})


@require_POST
def cluster_check(request, name: str):
    """Run the connection check (operators and admins) and show its outcome on the cluster's page."""
    _require(request, clusters.CHECK_PERMISSION)
    try:
        cluster = clusters.check_cluster(_cluster(name), user=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("policies:cluster-list")
    if cluster.reachable:
        messages.success(request, _("Cluster %(name)s answered; the page shows what the check found.") % {"name": name})
    else:
        messages.error(
            request,
            _("Cluster %(name)s could not be checked: [%(code)s] %(message)s")
            % {"name": name, "code": cluster.check_error_code, "message": cluster.check_error_message},
        )
    return redirect("policies:cluster-detail", name)
