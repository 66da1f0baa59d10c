"""The Django side of the cluster layer: connect to a stored Cluster, record what an apply did.

Kept apart from the rest of ``policies.cluster`` (which knows nothing of Django) so that the
verbs stay testable against the fake without a database. Records are written after the cluster
call returns, never inside a transaction held across it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from policies.cluster.apply import ApplyResult
from policies.cluster.kubeconfig import read_contexts
from policies.cluster.kubernetes_client import ConfigurationError, KubernetesClusterApi
from policies.cluster.scope import PolicyScope
from policies.cluster.transport import RetryPolicy
from policies.models import ApplyRecord, Cluster, EgressPolicy, PolicyRevision


def connect_cluster(cluster: Cluster, *, retry: RetryPolicy | None = None) -> KubernetesClusterApi:
    """A client for a stored cluster: its kubeconfig and context, or the in-cluster service account."""
    if cluster.in_cluster:
        return KubernetesClusterApi.in_cluster(retry=retry)
    if not cluster.kubeconfig_path:
        raise ConfigurationError(f"Cluster {cluster.name!r} has neither a kubeconfig path nor in-cluster access.")
    # NB: read as registering did (a regular file, bounded, in EGRESS_KUBECONFIG_DIRS): a path that has since become
    # a FIFO or a device would block the client's loader for ever, holding a page or the job worker.
    # NB: and a kubeconfig edited since to run a program for credentials is refused before the client runs it.
    contexts = read_contexts(cluster.kubeconfig_path, kubeconfig_dirs())
    contexts.require(cluster.context, cluster.kubeconfig_path, allow_programs=allow_credential_programs())
    api = KubernetesClusterApi.from_kubeconfig(cluster.kubeconfig_path, cluster.context or None, retry=retry)
    # NB: the discovery cache is per process: keyed by the record's name and the server and context it
    # points at now (host#context), so a record edited through another replica never reads stale answers.
    api.identity = f"cluster:{cluster.name}:{api.identity}"
    return api


def kubeconfig_dirs() -> list[str]:
    """``EGRESS_KUBECONFIG_DIRS``: where registered kubeconfigs must live (empty: anywhere on the host)."""
    return list(getattr(settings, "EGRESS_KUBECONFIG_DIRS", []))


def allow_credential_programs() -> bool:
    """``EGRESS_KUBECONFIG_ALLOW_EXEC``: may a stored cluster's kubeconfig run a program for its credentials?"""
    return bool(getattr(settings, "EGRESS_KUBECONFIG_ALLOW_EXEC", False))


def outcome_rows(result: ApplyResult) -> list[dict[str, Any]]:
    """The per-object outcomes as JSON-ready rows (error code and message; never a request)."""
    return [
        {
            "kind": o.ref.kind,
            "namespace": o.ref.namespace,
            "name": o.ref.name,
            "outcome": o.outcome,
            "error_code": o.error.code if o.error else "",
            "message": o.error.message if o.error else "",
            "changes": [c.dotted_path for c in o.changes],
            "resource_version": o.resource_version,
        }
        for o in result.outcomes
    ]


def record_result(
    result: ApplyResult,
    *,
    cluster: Cluster,
    scope: PolicyScope,
    action: str,
    policy: EgressPolicy | None = None,
    revision: PolicyRevision | None = None,
    user: Any = None,
) -> ApplyRecord:
    """Store one apply/dry-run/delete result with every object's outcome."""
    first_error = result.errors[0] if result.errors else None
    return ApplyRecord.objects.create(
        cluster=cluster,
        policy=policy,
        revision=revision,
        policy_name=scope.name,
        policy_namespace=scope.namespace,
        action=action,
        target=result.target or "",
        succeeded=result.ok,
        error_code=first_error.code if first_error else "",
        error_message=first_error.message if first_error else "",
        outcomes=outcome_rows(result),
        user=user if getattr(user, "is_authenticated", False) else None,
    )


def last_applied_revision(policy: EgressPolicy, cluster: Cluster) -> PolicyRevision | None:
    """The revision of the policy's last successful (non-dry-run) apply to ``cluster``."""
    record = (
        ApplyRecord.objects.filter(policy=policy, cluster=cluster, action=ApplyRecord.Action.APPLY, succeeded=True)
        .exclude(revision=None)
        .select_related("revision")
        .first()
    )
    return record.revision if record else None
