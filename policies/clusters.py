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

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone
from django.utils.translation import gettext as _

from policies import services
from policies.audit import append_entry
from policies.cluster.discovery import Capabilities, capabilities
from policies.cluster.errors import ClusterError
from policies.cluster.interface import ClusterApi, Object
from policies.cluster.kubeconfig import read_contexts
from policies.cluster.mesh import ISTIO_NAMESPACE, MeshOutbound, read_outbound_mode
from policies.cluster.records import allow_credential_programs, connect_cluster, kubeconfig_dirs
from policies.cluster.sidecars import ModeOverride, mode_overrides, read_sidecars, unmodelled
from policies.cluster.transport import RetryPolicy
from policies.cluster_status import policy_drifts, replace_drifts
from policies.core.simulator.sidecar_scope import ROOT_NAMESPACE as SIMULATOR_ROOT_NAMESPACE
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


class ClusterSidecarsUnmodelled(ServiceError):
    """A simulation names a cluster holding a Sidecar the simulator cannot read (an egress port, a bind address)."""

    code = "CLUSTER_SIDECARS_UNMODELLED"


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
        contexts.require(context, kubeconfig_path, allow_programs=allow_credential_programs())
    except ClusterError as exc:
        raise ClusterLocationInvalid(exc, "context") from exc


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
    sidecars: list[Object] | None = None
    sidecars_error: ClusterError | None = None
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
        api = connect_cluster(cluster, retry=CHECK_RETRY)
        findings.capabilities = capabilities(api, refresh=True)
    except ClusterError as exc:
        findings.error = exc
    else:
        findings.outbound, findings.outbound_error = _outbound(api, findings.capabilities)
        findings.sidecars, findings.sidecars_error = _sidecars(api, findings.capabilities)
        findings.drifts = policy_drifts(api, findings.capabilities, cluster)
    _store(cluster, findings, user)
    return cluster


def _outbound(api: ClusterApi, caps: Capabilities) -> tuple[MeshOutbound | None, ClusterError | None]:
    try:
        return read_outbound_mode(api, caps), None
    except ClusterError as exc:
        return None, exc


def _sidecars(api: ClusterApi, caps: Capabilities) -> tuple[list[Object] | None, ClusterError | None]:
    # NB: a Sidecar list the console may not read never fails the check: it is stored as unknown with its code.
    try:
        return read_sidecars(api, caps), None
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
    cluster.sidecars = _sidecar_record(findings).as_json() if error is None else {}
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
    "sidecars",
]


SIDECARS_READ, SIDECARS_UNKNOWN = "read", "unknown"


@dataclass(frozen=True)
class ClusterSidecars:
    """The Sidecars a cluster's last check read, as stored in ``Cluster.sidecars``.

    ``state`` is ``read`` (``items`` holds every Sidecar, trimmed), ``unknown`` (the list failed:
    ``error_code`` and ``error_message`` say why, e.g. Forbidden) or empty (never checked, or the check
    did not reach the cluster). ``fallback_mode`` is the mesh config's own mode, which a Sidecar without
    ``outboundTrafficPolicy`` falls back to; ``unmodelled`` the Sidecars the simulator cannot read.
    """

    state: str = ""
    items: list[Object] = field(default_factory=list)
    error_code: str = ""
    error_message: str = ""
    fallback_mode: str = ""
    root_namespace: str = ISTIO_NAMESPACE
    unmodelled: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, cluster: Cluster) -> ClusterSidecars:
        """The record stored on ``cluster`` (an empty one before the first check)."""
        stored = cluster.sidecars if isinstance(cluster.sidecars, dict) else {}
        return cls(
            state=str(stored.get("state", "")),
            items=list(stored.get("items") or []),
            error_code=str(stored.get("errorCode", "")),
            error_message=str(stored.get("errorMessage", "")),
            fallback_mode=str(stored.get("fallbackMode", "")),
            root_namespace=str(stored.get("rootNamespace") or ISTIO_NAMESPACE),
            unmodelled=list(stored.get("unmodelled") or []),
        )

    def as_json(self) -> dict[str, Any]:
        """What ``Cluster.sidecars`` stores."""
        return {
            "state": self.state,
            "errorCode": self.error_code,
            "errorMessage": self.error_message,
            "fallbackMode": self.fallback_mode,
            "rootNamespace": self.root_namespace,
            "unmodelled": self.unmodelled,
            "items": self.items,
        }

    @cached_property
    def overrides(self) -> list[ModeOverride]:
        """The namespace and workload Sidecars that set their proxies' outbound mode."""
        return mode_overrides(self.items, self.root_namespace)

    @cached_property
    def allow_any(self) -> list[ModeOverride]:
        """The overrides that let their proxies pass unknown hosts straight through."""
        return [item for item in self.overrides if item.mode == "ALLOW_ANY"]

    def summary(self) -> dict[str, Any]:
        """The record without the Sidecars themselves, as the API, the audit log and the CLI show it."""
        return {
            "state": self.state or None,
            "count": len(self.items) if self.state == SIDECARS_READ else None,
            "error": {"code": self.error_code, "message": self.error_message} if self.error_code else None,
            "overrides": [item.as_dict() for item in self.overrides],
            "unmodelled": self.unmodelled,
        }


def _sidecar_record(findings: CheckFindings) -> ClusterSidecars:
    outbound = findings.outbound
    fallback = (outbound.mesh_config_mode or "") if outbound else ""
    root = outbound.root_namespace if outbound else ISTIO_NAMESPACE
    if findings.sidecars is None:
        code, message = _error_fields(findings.sidecars_error)
        return ClusterSidecars(SIDECARS_UNKNOWN, [], code, message, fallback, root)
    refused = [item.as_dict() for item in unmodelled(findings.sidecars)]
    return ClusterSidecars(SIDECARS_READ, findings.sidecars, "", "", fallback, root, refused)


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
        "sidecars": ClusterSidecars.of(cluster).summary(),
    }


def mesh_modes() -> dict[str, Any]:
    """Every cluster with its last-read outbound mode, the names of those in ALLOW_ANY, and the Sidecar warnings."""
    found = list(Cluster.objects.only("name", "outbound_mode", "checked_at", "reachable", "sidecars"))
    return {
        "mesh_clusters": found,
        "allow_any": [c.name for c in found if c.outbound_mode == "ALLOW_ANY"],
        "sidecar_notes": sidecar_notes(found),
    }


@dataclass(frozen=True)
class SidecarNote:
    """A cluster whose Sidecars a reader must know of, with what its last check read of them."""

    cluster: str
    sidecars: ClusterSidecars


def sidecar_notes(found: Iterable[Cluster]) -> list[SidecarNote]:
    """The clusters where a Sidecar sets ALLOW_ANY, where the Sidecars could not be listed, or cannot be simulated."""
    notes = (SidecarNote(cluster.name, ClusterSidecars.of(cluster)) for cluster in found)
    return [n for n in notes if n.sidecars.allow_any or n.sidecars.unmodelled or n.sidecars.state == SIDECARS_UNKNOWN]


@dataclass(frozen=True)
class SimulationChoice:
    """A cluster as the Simulate tab offers it: its mode and what its Sidecars add to the simulation."""

    name: str
    mode: str
    sidecars: ClusterSidecars

    @property
    def usable(self) -> bool:
        """A simulation with it runs: its mode is known and the simulator reads each of its Sidecars."""
        return bool(self.mode) and not self.sidecars.unmodelled


def simulation_choices() -> list[SimulationChoice]:
    """Every cluster, by name, with what a simulation in it would use."""
    found = Cluster.objects.only("name", "outbound_mode", "sidecars").order_by("name")
    return [SimulationChoice(c.name, c.outbound_mode, ClusterSidecars.of(c)) for c in found]


@dataclass(frozen=True)
class ClusterMesh:
    """What a simulation with a cluster takes from its last check: a mode and the Sidecars to add to the objects.

    ``mode`` is the mode of proxies no Sidecar sets one for: with the Sidecars, the mesh config's own (the
    root namespace's Sidecar among them sets the rest, as istiod does), else the mesh-wide summary.
    ``sidecars_state`` says whether the Sidecars are in: ``read``, ``unknown`` (the check could not list
    them) or ``unmodelled`` (one the simulator cannot read; the mode alone is used).
    """

    mode: str
    sidecars: tuple[Object, ...] = ()
    sidecars_state: str = ""

    def describe(self) -> dict[str, Any]:
        """JSON for a report: how many Sidecars the simulation used, and whether they are all in."""
        return {"state": self.sidecars_state or None, "count": len(self.sidecars)}


def cluster_mesh(cluster_name: str) -> ClusterMesh:
    """The mode and Sidecars to simulate a named cluster with.

    Raises:
        ClusterModeUnknown: no such cluster, or no check read its outbound mode.
        ClusterSidecarsUnmodelled: it holds a Sidecar the simulator cannot read (the message names it).
    """
    cluster = Cluster.objects.filter(name=cluster_name).only("name", "outbound_mode", "sidecars").first()
    if cluster is None:
        raise ClusterModeUnknown(_("There is no cluster %(name)s.") % {"name": cluster_name[:63]}, path="cluster")
    found = mesh_for(cluster)
    if found is None:
        raise ClusterModeUnknown(
            _("The outbound mode of cluster %(name)s is unknown; check its connection, or choose the mode.")
            % {"name": cluster.name},
            path="cluster",
        )
    if found.sidecars_state == "unmodelled":
        first = ClusterSidecars.of(cluster).unmodelled[0]
        raise ClusterSidecarsUnmodelled(
            _(
                "Cluster %(name)s holds Sidecar %(sidecar)s, which the simulator cannot model (%(reason)s); "
                "choose the mode by hand to simulate without its Sidecars."
            )
            % {"name": cluster.name, "sidecar": first.get("sidecar", ""), "reason": first.get("message", "")},
            path="cluster",
        )
    return found


def mesh_for(cluster: Cluster | None) -> ClusterMesh | None:
    """The mode and Sidecars the cluster's last check read; None when its outbound mode is unknown."""
    mode = outbound_mode_for(cluster)
    if cluster is None or mode is None:
        return None
    record = ClusterSidecars.of(cluster)
    if record.state != SIDECARS_READ:
        return ClusterMesh(mode, (), record.state)
    if record.unmodelled:
        return ClusterMesh(mode, (), "unmodelled")
    if record.root_namespace != SIMULATOR_ROOT_NAMESPACE:
        # NB: the simulator takes istio-system's selector-less Sidecar as the root default; elsewhere the
        # mesh-wide summary (which includes that default's mode) stands in for it.
        return ClusterMesh(mode, tuple(record.items), SIDECARS_READ)
    return ClusterMesh(record.fallback_mode or mode, tuple(record.items), SIDECARS_READ)


def mesh_fingerprint(cluster: Cluster) -> str:
    """A short hash of what simulations with the cluster read (its mode and Sidecars), for cache keys."""
    raw = json.dumps([cluster.outbound_mode, cluster.sidecars], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def outbound_mode_for(cluster: Cluster | None) -> str | None:
    """The outbound traffic mode (REGISTRY_ONLY or ALLOW_ANY) the cluster's last check read, or None when unknown."""
    return (cluster.outbound_mode or None) if cluster is not None else None
