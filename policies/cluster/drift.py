"""Drift: has anyone changed a policy's objects on the cluster since the console applied them?

We ask the server what re-applying the last applied revision *with force* would do (a dry run),
so the answer covers exactly the fields the console owns, after server defaults, and includes
fields another manager took over. Field managers other than ``egress-console`` that own parts
of an object are named too: they are the out-of-band editors (``kubectl-edit``, a controller,
``kubectl apply --server-side`` by hand). Missing objects and labelled objects the revision no
longer generates are reported as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from policies.cluster.diff import FATAL, comparable, list_live
from policies.cluster.discovery import Capabilities, capabilities
from policies.cluster.errors import ClusterError
from policies.cluster.interface import FIELD_MANAGER, ClusterApi, Object, ObjectRef, ResourceType
from policies.cluster.scope import PolicyScope
from policies.core.diff import Change, diff

DriftState = Literal["in-sync", "modified", "missing", "unexpected", "error"]


@dataclass
class DriftItem:
    """One object's drift: what changed out of band and who else manages it."""

    ref: ObjectRef
    state: DriftState
    changes: list[Change] = field(default_factory=list)
    managers: tuple[str, ...] = ()
    error: ClusterError | None = None


@dataclass
class DriftReport:
    """Drift of every object of one policy."""

    scope: PolicyScope
    items: list[DriftItem]

    @property
    def drifted(self) -> list[DriftItem]:
        """Items that are not in sync."""
        return [i for i in self.items if i.state != "in-sync"]


def detect_drift(
    api: ClusterApi, *, desired: list[Object], scope: PolicyScope, caps: Capabilities | None = None
) -> DriftReport:
    """Compare live objects with ``desired`` (the last applied revision's manifests).

    Args:
        api: the cluster.
        desired: labelled manifests of the last applied revision.
        scope: the policy.
        caps: discovered capabilities (default: cached discovery).

    Raises:
        ClusterError: discovery or listing failed, or the server is unreachable or refuses us.
    """
    caps = caps or capabilities(api)
    live = list_live(api, caps=caps, scope=scope)
    items = [_drift_of(api, caps.resource_for(m["apiVersion"], m["kind"]), m, live) for m in desired]
    wanted = {ObjectRef.of(m).key for m in desired}
    items += [
        DriftItem(ObjectRef.of(obj), "unexpected", diff(comparable(obj), None), _foreign(obj))
        for key, (_, obj) in live.items()
        if key not in wanted
    ]
    return DriftReport(scope, items)


def _drift_of(
    api: ClusterApi,
    resource: ResourceType,
    manifest: Object,
    live: dict[tuple[str, str, str], tuple[ResourceType, Object]],
) -> DriftItem:
    ref = ObjectRef.of(manifest)
    current = live.get(ref.key, (resource, None))[1]
    if current is None:
        return DriftItem(ref, "missing", diff(None, comparable(manifest)))
    try:
        restored = api.apply(resource=resource, manifest=manifest, dry_run=True, force=True)
    except FATAL:
        raise
    except ClusterError as exc:
        return DriftItem(ref, "error", error=exc)
    changes = diff(comparable(current), comparable(restored))
    managers = _foreign(current)
    return DriftItem(ref, "modified" if changes or managers else "in-sync", changes, managers)


def _foreign(obj: Object) -> tuple[str, ...]:
    """Field managers other than ours that own fields of the object itself (not its status)."""
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return tuple(
        dict.fromkeys(
            str(e.get("manager")) for e in entries if e.get("manager") != FIELD_MANAGER and not e.get("subresource")
        )
    )
