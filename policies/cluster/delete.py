"""Delete a policy from a cluster: every object labelled for it (spec §4.9), in reverse apply order.

Deleting is applying an empty desired state, so this reuses the plan: one labelled LIST per
kind, a dry-run delete of each object (a missing permission stops everything before anything is
deleted), then the deletes, each guarded by the resourceVersion we listed. On an ASM cluster the
labelled objects include the ASMEgressTrafficPolicy itself; ASM's controller removes what it
generated from it.
"""

from __future__ import annotations

from policies.cluster.apply import ApplyResult, apply_objects
from policies.cluster.discovery import Capabilities, Target
from policies.cluster.interface import ClusterApi
from policies.cluster.scope import PolicyScope


def delete_policy(
    api: ClusterApi,
    *,
    scope: PolicyScope,
    target: Target | None = None,
    dry_run: bool = False,
    caps: Capabilities | None = None,
) -> ApplyResult:
    """Remove every object labelled for ``scope``; outcomes are ``pruned`` (deleted) or ``failed``.

    Args:
        api: the cluster.
        scope: the policy to delete.
        target: recorded in the result.
        dry_run: only check, with server dry-run deletes, what would be deleted.
        caps: discovered capabilities (default: cached discovery).
    """
    return apply_objects(api, desired=[], scope=scope, target=target, dry_run=dry_run, caps=caps)
