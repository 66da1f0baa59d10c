"""Per cluster and policy: the revision applied there (when, by whom, which target) and its drift.

The applied revision is read from the database (a review's deployment or a recorded ``egress apply``,
whichever is newer), so it is always current. Drift needs the cluster, so the connection check
(``policies.clusters.check_cluster``) computes it with the cluster layer's drift and stores it in
``ClusterPolicyDrift``; a drift answer older than the last apply, or about another revision, reads as
``unknown`` until the next check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Q
from django.utils import timezone

from policies import services
from policies.cluster.concurrency import map_in_order
from policies.cluster.discovery import Capabilities
from policies.cluster.drift import DriftReport, detect_drift
from policies.cluster.errors import ClusterError
from policies.cluster.interface import ClusterApi
from policies.cluster.targets import DesiredState, desired_state
from policies.core.expansion import ExpansionError
from policies.core.model import EgressPolicy as PolicyModel
from policies.models import ApplyRecord, Cluster, ClusterPolicyDrift, Deployment, EgressPolicy, PolicyRevision

# NB: each policy's drift sends its requests one after the other; four policies at once overlap the round
# trips to a remote apiserver and stay well under the transport's pool of 16 connections (on the loopback test
# control plane the two take about the same time: bench/cluster_check.py).
POLICIES_IN_FLIGHT = 4


@dataclass(frozen=True)
class AppliedRevision:
    """The revision of a policy last applied to a cluster: when, by whom, with which target."""

    policy: EgressPolicy
    revision: PolicyRevision
    target: str
    at: datetime
    by: str


def applied_revisions(cluster: Cluster) -> dict[int, AppliedRevision]:
    """Per policy id, the latest successful apply to ``cluster`` (a review's deployment or a recorded apply)."""
    found: dict[int, AppliedRevision] = {}
    deployments = Deployment.objects.filter(cluster=cluster, state=Deployment.State.APPLIED).select_related(
        "review__revision", "review__policy__gateway", "user"
    )
    for d in deployments:
        _keep_latest(found, AppliedRevision(d.review.policy, d.review.revision, d.target, d.updated_at, _name(d.user)))
    records = (
        ApplyRecord.objects.filter(cluster=cluster, action=ApplyRecord.Action.APPLY, succeeded=True)
        .filter(~Q(policy=None), ~Q(revision=None))
        .select_related("revision", "policy__gateway", "user")
    )
    for r in records:
        assert r.policy is not None and r.revision is not None  # NB: filtered above; narrows the type
        _keep_latest(found, AppliedRevision(r.policy, r.revision, r.target, r.created_at, _name(r.user)))
    return found


def _keep_latest(found: dict[int, AppliedRevision], applied: AppliedRevision) -> None:
    current = found.get(applied.policy.pk)
    if current is None or applied.at > current.at:
        found[applied.policy.pk] = applied


def _name(user: Any) -> str:
    return getattr(user, "username", "") or ""


def policy_drifts(api: ClusterApi, caps: Capabilities, cluster: Cluster) -> list[ClusterPolicyDrift]:
    """The drift of every policy applied to ``cluster``, computed now (unsaved rows), a few policies at a time."""
    now = timezone.now()
    prepared = [_prepared(caps, cluster, applied, now) for applied in applied_revisions(cluster).values()]
    return map_in_order(lambda item: _drift_of(api, caps, *item), prepared, concurrency=POLICIES_IN_FLIGHT)


def _prepared(
    caps: Capabilities, cluster: Cluster, applied: AppliedRevision, now: datetime
) -> tuple[ClusterPolicyDrift, DesiredState | None]:
    """The row to fill and the applied revision's desired state, read here: the threads never touch the database."""
    row = ClusterPolicyDrift(cluster=cluster, policy=applied.policy, revision=applied.revision, checked_at=now)
    try:
        target = applied.target if applied.target in ("asm", "istio") else None
        state = desired_state(
            PolicyModel.model_validate(applied.revision.document),
            caps,
            target=target,  # type: ignore[arg-type]  # NB: narrowed to the Target literals just above
            gateway=applied.policy.gateway.describe(),
            settings=services.translation_settings(),
        )
    except (ClusterError, ExpansionError) as exc:
        return _unknown(row, exc), None
    return row, state


def _drift_of(
    api: ClusterApi, caps: Capabilities, row: ClusterPolicyDrift, state: DesiredState | None
) -> ClusterPolicyDrift:
    if state is None:
        return row
    try:
        report = detect_drift(api, desired=state.objects, scope=state.scope, caps=caps)
    except ClusterError as exc:
        return _unknown(row, exc)
    row.state, row.drifted_objects = _drift_state(report), _drifted_rows(report)
    return row


def _unknown(row: ClusterPolicyDrift, error: ClusterError | ExpansionError) -> ClusterPolicyDrift:
    row.state, row.error_code, row.error_message = ClusterPolicyDrift.State.UNKNOWN, error.code, error.message[:500]
    return row


def _drift_state(report: DriftReport) -> str:
    if any(item.state not in ("in-sync", "error") for item in report.items):
        return ClusterPolicyDrift.State.DRIFTED
    if any(item.state == "error" for item in report.items):
        return ClusterPolicyDrift.State.UNKNOWN
    return ClusterPolicyDrift.State.IN_SYNC


def _drifted_rows(report: DriftReport) -> list[dict[str, Any]]:
    return [
        {
            "kind": item.ref.kind,
            "namespace": item.ref.namespace,
            "name": item.ref.name,
            "state": item.state,
            "managers": list(item.managers),
            "changes": [change.dotted_path for change in item.changes][:20],
            "error": item.error.code if item.error else "",
        }
        for item in report.drifted
    ]


def replace_drifts(cluster: Cluster, drifts: list[ClusterPolicyDrift]) -> None:
    """Store ``drifts`` as the cluster's drift answers, dropping those of policies no longer applied there."""
    ClusterPolicyDrift.objects.filter(cluster=cluster).exclude(policy__in=[d.policy for d in drifts]).delete()
    for drift in drifts:
        ClusterPolicyDrift.objects.update_or_create(
            cluster=cluster,
            policy=drift.policy,
            defaults={
                "revision": drift.revision,
                "state": drift.state,
                "drifted_objects": drift.drifted_objects,
                "error_code": drift.error_code,
                "error_message": drift.error_message,
                "checked_at": drift.checked_at,
            },
        )


@dataclass(frozen=True)
class PolicyStatus:
    """One policy on one cluster: the applied revision and its drift as last checked."""

    applied: AppliedRevision
    drift: str
    drift_checked_at: datetime | None
    drifted_objects: list[dict[str, Any]]
    drift_error: str


def policy_statuses(cluster: Cluster) -> list[PolicyStatus]:
    """Every policy applied to ``cluster``, by name; drift is ``unknown`` until a check ran since the last apply."""
    drifts = {d.policy_id: d for d in ClusterPolicyDrift.objects.filter(cluster=cluster)}
    statuses = [_status(applied, drifts.get(pk)) for pk, applied in applied_revisions(cluster).items()]
    return sorted(statuses, key=lambda s: s.applied.policy.name)


def _status(applied: AppliedRevision, drift: ClusterPolicyDrift | None) -> PolicyStatus:
    current = drift is not None and drift.revision_id == applied.revision.pk and drift.checked_at >= applied.at
    if drift is None or not current:
        return PolicyStatus(applied, ClusterPolicyDrift.State.UNKNOWN, None, [], "")
    error = f"{drift.error_code}: {drift.error_message}" if drift.error_code else ""
    return PolicyStatus(applied, drift.state, drift.checked_at, drift.drifted_objects, error)
