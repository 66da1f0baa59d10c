"""Clusters the console knows: register, edit, delete, check the connection, and what each policy looks like there.

A check is the only place the console talks to a cluster for this page: it runs discovery (which
targets work there: our CRD served → ``asm``, Istio's networking kinds → ``istio``; the versions
served), reads the mesh's outbound traffic mode, and compares every policy applied there with its
objects on the cluster (drift). The answers are stored on the ``Cluster`` row and in
``ClusterPolicyDrift``, so the pages and the API only read the database. Requests go through the
cluster transport with a check's own tighter retry policy, so a dead cluster answers in seconds.
Registering, editing and deleting need the admin role (the model permissions); a check needs
``policies.check_cluster`` (operators and admins): it writes only the console's own records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from policies import services
from policies.audit import append_entry
from policies.cluster.discovery import Capabilities, capabilities
from policies.cluster.errors import ClusterError
from policies.cluster.interface import ClusterApi
from policies.cluster.kubeconfig import read_contexts
from policies.cluster.mesh import MeshOutbound, read_outbound_mode
from policies.cluster.records import connect_cluster
from policies.cluster.transport import RetryPolicy
from policies.cluster_status import policy_drifts, replace_drifts
from policies.models import ApplyJobCluster, ApplyRecord, Cluster, ClusterPolicyDrift, Deployment
from policies.services import ServiceError

CHECK_PERMISSION = "policies.check_cluster"
MANAGE_PERMISSIONS = {
    "add": "policies.add_cluster",
    "change": "policies.change_cluster",
    "delete": "policies.delete_cluster",
}
# NB: a check answers a person waiting on a page: two attempts and short timeouts bound a dead cluster to
# about 2 x 3 s (refused or unroutable) or 2 x 5 s (hung), not the apply path's 4 x (5 + 30) s
# (bench/cluster_check.py prints the figures).
CHECK_RETRY = RetryPolicy(attempts=2, backoff=0.2, max_delay=1.0, connect_timeout=3.0, read_timeout=5.0)
MAX_MESSAGE = 500


class ClusterLocationInvalid(ServiceError):
    """The kubeconfig path or context of a cluster cannot be used; ``code`` is the cluster layer's."""

    def __init__(self, error: ClusterError, path: str) -> None:
        super().__init__(error.message, path=path)
        self.code = error.code


class ClusterRefused(ServiceError):
    """The user's role may not do this to clusters."""

    code = "permission_denied"
    status = 403


class ClusterGone(ServiceError):
    """The cluster was deleted while it was being checked."""

    code = "not_found"
    status = 404


class ClusterModeUnknown(ServiceError):
    """A simulation names a cluster that does not exist or whose outbound mode no check has read."""

    code = "CLUSTER_MODE_UNKNOWN"


class ClusterInUse(ServiceError):
    """The cluster has apply records or deployments; deleting it would erase where policies were applied."""

    code = "CLUSTER_IN_USE"
    status = 409


# -- registering ----------------------------------------------------------------------------------


def validate_location(*, in_cluster: bool, kubeconfig_path: str, context: str) -> None:
    """Refuse a location the console could not connect through: no file, no such context, or both kinds at once.

    Raises:
        ClusterLocationInvalid: with the field at fault (``kubeconfig_path`` or ``context``).
    """
    if in_cluster:
        if kubeconfig_path or context:
            raise ServiceError(
                _("A cluster reached with the in-cluster service account has no kubeconfig path or context."),
                path="kubeconfig_path" if kubeconfig_path else "context",
            )
        return
    if not kubeconfig_path:
        raise ServiceError(_("Give a kubeconfig path, or use the in-cluster service account."), path="kubeconfig_path")
    try:
        contexts = read_contexts(kubeconfig_path, kubeconfig_dirs())
    except ClusterError as exc:
        raise ClusterLocationInvalid(exc, "kubeconfig_path") from exc
    try:
        contexts.require(context, kubeconfig_path)
    except ClusterError as exc:
        raise ClusterLocationInvalid(exc, "context") from exc


def kubeconfig_dirs() -> list[str]:
    """``EGRESS_KUBECONFIG_DIRS``: where registered kubeconfigs must live (empty: anywhere on the host)."""
    return list(getattr(settings, "EGRESS_KUBECONFIG_DIRS", []))


def require_permission(user: Any, permission: str) -> None:
    """ClusterRefused unless ``user`` holds ``permission`` (None: the command line, which runs as the host)."""
    if user is not None and not user.has_perm(permission):
        raise ClusterRefused(_("Your role may not do this to clusters."))


def save_cluster(cluster: Cluster, *, user: Any, created: bool) -> Cluster:
    """Validate the location, save, and audit the registration or the edit."""
    require_permission(user, MANAGE_PERMISSIONS["add" if created else "change"])
    validate_location(in_cluster=cluster.in_cluster, kubeconfig_path=cluster.kubeconfig_path, context=cluster.context)
    with transaction.atomic():
        cluster.save()
        append_entry(
            action="cluster.register" if created else "cluster.update",
            user=user,
            cluster=cluster.name,
            result=location_of(cluster),
        )
    return cluster


def delete_cluster(cluster: Cluster, *, user: Any) -> None:
    """Delete a cluster nothing was applied to; ClusterInUse otherwise."""
    require_permission(user, MANAGE_PERMISSIONS["delete"])
    in_use = ClusterInUse(
        _("Policies were applied to cluster %(name)s; its records keep that history, so it cannot be deleted.")
        % {"name": cluster.name}
    )
    if any(model.objects.filter(cluster=cluster).exists() for model in (ApplyRecord, Deployment, ApplyJobCluster)):
        raise in_use
    try:
        with transaction.atomic():
            append_entry(action="cluster.delete", user=user, cluster=cluster.name, result=location_of(cluster))
            cluster.delete()
    except ProtectedError as exc:  # NB: an apply recorded since the check above
        raise in_use from exc


def location_of(cluster: Cluster) -> dict[str, Any]:
    """Where the cluster's credentials live (never the credentials themselves)."""
    return {"inCluster": cluster.in_cluster, "kubeconfigPath": cluster.kubeconfig_path, "context": cluster.context}


# -- checking -------------------------------------------------------------------------------------


@dataclass
class CheckFindings:
    """What one check found, before it is stored."""

    capabilities: Capabilities | None = None
    error: ClusterError | None = None
    outbound: MeshOutbound | None = None
    outbound_error: ClusterError | None = None
    drifts: list[ClusterPolicyDrift] = field(default_factory=list)


def check_cluster(cluster: Cluster, *, user: Any = None) -> Cluster:
    """Check the connection, targets, versions, outbound mode and every applied policy's drift; store it all.

    Never raises for a cluster problem: an unreachable, refusing or misconfigured cluster is stored
    as ``reachable=False`` with the cluster layer's error code and message.

    Raises:
        ClusterRefused: the user may not check clusters.
    """
    require_permission(user, CHECK_PERMISSION)
    findings = CheckFindings()
    try:
        api = _connect(cluster)
        findings.capabilities = capabilities(api, refresh=True)
    except ClusterError as exc:
        findings.error = exc
    else:
        findings.outbound, findings.outbound_error = _outbound(api, findings.capabilities)
        findings.drifts = policy_drifts(api, findings.capabilities, cluster)
    _store(cluster, findings, user)
    return cluster


def _connect(cluster: Cluster) -> ClusterApi:
    if not cluster.in_cluster:
        read_contexts(cluster.kubeconfig_path, kubeconfig_dirs()).require(cluster.context, cluster.kubeconfig_path)
    return connect_cluster(cluster, retry=CHECK_RETRY)


def _outbound(api: ClusterApi, caps: Capabilities) -> tuple[MeshOutbound | None, ClusterError | None]:
    try:
        return read_outbound_mode(api, caps), None
    except ClusterError as exc:
        return None, exc


def targets_of(caps: Capabilities) -> list[str]:
    """The apply targets that work on a cluster with ``caps``."""
    return [name for name, works in (("asm", caps.has_asm), ("istio", caps.istio_version is not None)) if works]


def _store(cluster: Cluster, findings: CheckFindings, user: Any) -> None:
    caps, error, outbound, outbound_error = (
        findings.capabilities,
        findings.error,
        findings.outbound,
        findings.outbound_error,
    )
    cluster.checked_at = timezone.now()
    cluster.checked_by = services._user_or_none(user)
    cluster.reachable = error is None
    cluster.check_error_code, cluster.check_error_message = _error_fields(error)
    cluster.targets = targets_of(caps) if caps else []
    cluster.versions = {group: list(versions) for group, versions in sorted(caps.served.items())} if caps else {}
    cluster.outbound_mode = (outbound.mode or "") if outbound else ""
    cluster.outbound_mode_source = outbound.source if outbound else ""
    cluster.outbound_mode_origin = outbound.origin if outbound else ""
    cluster.outbound_error_code, cluster.outbound_error_message = _error_fields(outbound_error)
    with transaction.atomic():
        # NB: an update, not save(): a cluster deleted during the check is a clear 404, not a DatabaseError.
        if not Cluster.objects.filter(pk=cluster.pk).update(**{name: getattr(cluster, name) for name in CHECK_FIELDS}):
            raise ClusterGone(_("Cluster %(name)s was deleted during the check.") % {"name": cluster.name})
        if error is None:
            replace_drifts(cluster, findings.drifts)
        append_entry(action="cluster.check", user=user, cluster=cluster.name, result=check_summary(cluster))


CHECK_FIELDS = [
    "checked_at",
    "checked_by",
    "reachable",
    "check_error_code",
    "check_error_message",
    "targets",
    "versions",
    "outbound_mode",
    "outbound_mode_source",
    "outbound_mode_origin",
    "outbound_error_code",
    "outbound_error_message",
]


def _error_fields(error: ClusterError | None) -> tuple[str, str]:
    return (error.code, error.message[:MAX_MESSAGE]) if error else ("", "")


def check_summary(cluster: Cluster) -> dict[str, Any]:
    """The stored check as the audit log and the CLI show it."""
    return {
        "reachable": cluster.reachable,
        "error": {"code": cluster.check_error_code, "message": cluster.check_error_message}
        if cluster.check_error_code
        else None,
        "targets": cluster.targets,
        "versions": cluster.versions,
        "outboundMode": cluster.outbound_mode or None,
        "outboundModeSource": cluster.outbound_mode_source or None,
    }


def mesh_modes() -> dict[str, Any]:
    """Every cluster with its last-read outbound mode, and the names of those in ALLOW_ANY (for warnings)."""
    found = list(Cluster.objects.only("name", "outbound_mode", "checked_at", "reachable"))
    return {"mesh_clusters": found, "allow_any": [c.name for c in found if c.outbound_mode == "ALLOW_ANY"]}


def simulation_mode(cluster_name: str) -> str:
    """The outbound mode to simulate a named cluster in: its last check's; ClusterModeUnknown when there is none."""
    cluster = Cluster.objects.filter(name=cluster_name).only("name", "outbound_mode").first()
    if cluster is None:
        raise ClusterModeUnknown(_("There is no cluster %(name)s.") % {"name": cluster_name[:63]}, path="cluster")
    mode = outbound_mode_for(cluster)
    if mode is None:
        raise ClusterModeUnknown(
            _("The outbound mode of cluster %(name)s is unknown; check its connection, or choose the mode.")
            % {"name": cluster.name},
            path="cluster",
        )
    return mode


def outbound_mode_for(cluster: Cluster | None) -> str | None:
    """The outbound traffic mode (REGISTRY_ONLY or ALLOW_ANY) the cluster's last check read, or None when unknown."""
    return (cluster.outbound_mode or None) if cluster is not None else None
