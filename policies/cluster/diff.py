"""Plan what an apply would do: desired (as the server would store it) against live, per object.

The desired side is the server's own answer to a dry-run server-side apply, as in Argo CD's
server-side diff: defaults, webhooks and field normalisation are already in it, so they never
show up as noise. The live side comes from one labelled LIST per managed kind, which also
yields the objects to prune. Planning sends no write; it costs one dry-run request per object
(plus one dry-run delete per object to prune, so a missing delete permission surfaces here,
before anything is written). Those requests are independent, so up to ``concurrency`` of them
are in flight at once; the plan lists the objects in the same order either way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal

from policies.cluster.concurrency import REQUESTS_IN_FLIGHT, map_in_order
from policies.cluster.discovery import Capabilities, capabilities
from policies.cluster.errors import ClusterError, ClusterUnreachable, Unauthorized
from policies.cluster.interface import FIELD_MANAGER, ClusterApi, Object, ObjectRef, ResourceType
from policies.cluster.scope import PolicyScope
from policies.core.diff import Change, diff

Action = Literal["create", "change", "unchanged", "prune"]
VOLATILE_METADATA = ("resourceVersion", "generation", "managedFields", "creationTimestamp", "uid", "selfLink")
FATAL = (ClusterUnreachable, Unauthorized)
PRUNE_ORDER = (
    "AuthorizationPolicy",
    "VirtualService",
    "Gateway",
    "DestinationRule",
    "ServiceEntry",
    "ASMEgressTrafficPolicy",
)


@dataclass
class PlannedObject:
    """What will happen to one object, and why (``changes``), or the error that stops it."""

    ref: ObjectRef
    resource: ResourceType
    action: Action
    manifest: Object | None = None
    live: Object | None = None
    changes: list[Change] = field(default_factory=list)
    error: ClusterError | None = None


@dataclass(frozen=True)
class PlanSummary:
    """Counts of a plan, read like Terraform's: N to create, M to change, K to prune, rest unchanged."""

    create: int
    change: int
    prune: int
    unchanged: int
    failed: int = 0

    def __str__(self) -> str:
        text = f"{self.create} to create, {self.change} to change, {self.prune} to prune, {self.unchanged} unchanged"
        return text + (f", {self.failed} failed" if self.failed else "")


@dataclass
class Plan:
    """Every desired object in apply order, then every object to prune."""

    scope: PolicyScope
    objects: list[PlannedObject]

    @property
    def errors(self) -> list[PlannedObject]:
        """The objects the dry run refused."""
        return [o for o in self.objects if o.error is not None]

    @property
    def summary(self) -> PlanSummary:
        """How many objects each action touches."""
        count = {
            a: sum(o.action == a and o.error is None for o in self.objects)
            for a in ("create", "change", "prune", "unchanged")
        }
        return PlanSummary(count["create"], count["change"], count["prune"], count["unchanged"], len(self.errors))


def plan_changes(
    api: ClusterApi,
    *,
    desired: list[Object],
    scope: PolicyScope,
    force_conflicts: bool = False,
    caps: Capabilities | None = None,
    concurrency: int = REQUESTS_IN_FLIGHT,
) -> Plan:
    """Dry-run every desired object and compare with what is live.

    Args:
        api: the cluster.
        desired: manifests in apply order (already labelled with ``scope``).
        scope: the policy whose labelled objects are live candidates and prune candidates.
        force_conflicts: dry-run with ``force`` (take over fields other managers own).
        caps: discovered capabilities (default: the cached discovery of ``api``).
        concurrency: requests in flight at once (1: one after the other).

    Returns:
        A plan; per-object refusals are in ``Plan.errors`` (every one of them, not only the first).

    Raises:
        ClusterError: discovery or listing failed, or the server is unreachable or refuses us.
    """
    caps = caps or capabilities(api)
    resolved = [(caps.resource_for(m["apiVersion"], m["kind"]), m) for m in desired]
    live = list_live(api, caps=caps, scope=scope, concurrency=concurrency)
    wanted = {ObjectRef.of(m).key for m in desired}
    stale = sorted((item for key, item in live.items() if key not in wanted), key=_prune_order)
    dry_runs = [partial(_plan_one, api, resource, manifest, live, force_conflicts) for resource, manifest in resolved]
    dry_runs += [partial(_plan_prune, api, resource, obj) for resource, obj in stale]
    # NB: one batch for both: a FATAL error raised by any dry run stops the whole plan.
    return Plan(scope, map_in_order(_call, dry_runs, concurrency=concurrency))


def _call(dry_run: Callable[[], PlannedObject]) -> PlannedObject:
    return dry_run()


def _prune_order(item: tuple[ResourceType, Object]) -> tuple[int, str, str]:
    """Dependants first (VirtualServices before the Gateway they name): the reverse of apply order."""
    ref = ObjectRef.of(item[1])
    return (PRUNE_ORDER.index(ref.kind) if ref.kind in PRUNE_ORDER else len(PRUNE_ORDER), ref.namespace, ref.name)


def list_live(
    api: ClusterApi, *, caps: Capabilities, scope: PolicyScope, concurrency: int = REQUESTS_IN_FLIGHT
) -> dict[tuple[str, str, str], tuple[ResourceType, Object]]:
    """Every live object labelled for ``scope``: one LIST per managed kind, across namespaces."""
    resources = caps.managed_resources()

    def listed(resource: ResourceType) -> list[Object]:
        return api.list(resource=resource, label_selector=scope.label_selector)

    found: dict[tuple[str, str, str], tuple[ResourceType, Object]] = {}
    for resource, objects in zip(resources, map_in_order(listed, resources, concurrency=concurrency), strict=True):
        for obj in objects:
            found[ObjectRef.of(obj).key] = (resource, obj)
    return found


def _plan_one(
    api: ClusterApi,
    resource: ResourceType,
    manifest: Object,
    live: dict[tuple[str, str, str], tuple[ResourceType, Object]],
    force: bool,
) -> PlannedObject:
    ref = ObjectRef.of(manifest)
    current = live.get(ref.key, (resource, None))[1]
    try:
        predicted = api.apply(resource=resource, manifest=manifest, dry_run=True, force=force)
        if current is None and predicted["metadata"].get("resourceVersion"):
            # NB: it exists but lacks our labels (made by hand or by an older console); read it to compare.
            current = api.get(resource=resource, namespace=ref.namespace, name=ref.name)
    except FATAL:
        raise
    except ClusterError as exc:
        return PlannedObject(
            ref, resource, "change" if current else "create", manifest, current, error=_about(exc, ref)
        )
    changes = diff(comparable(current), comparable(predicted)) if current is not None else []
    return PlannedObject(ref, resource, _action(current, predicted, changes), manifest, current, changes)


def _action(current: Object | None, predicted: Object, changes: list[Change]) -> Action:
    if current is None:
        return "create"
    if changes or _our_fields(current) != _our_fields(predicted):
        return "change"
    return "unchanged"


def _plan_prune(api: ClusterApi, resource: ResourceType, obj: Object) -> PlannedObject:
    ref = ObjectRef.of(obj)
    meta = obj["metadata"]
    try:
        api.delete(
            resource=resource,
            namespace=ref.namespace,
            name=ref.name,
            resource_version=meta.get("resourceVersion", ""),
            dry_run=True,
        )
    except FATAL:
        raise
    except ClusterError as exc:
        return PlannedObject(ref, resource, "prune", live=obj, error=_about(exc, ref))
    return PlannedObject(ref, resource, "prune", live=obj, changes=diff(comparable(obj), None))


def comparable(obj: Object | None) -> Any:
    """``obj`` without server bookkeeping (resourceVersion, managedFields, status, ...)."""
    if obj is None:
        return None
    # NB: apiVersion is left out: a v1 list and a v1beta1 dry run of one object must compare equal.
    trimmed = {k: v for k, v in obj.items() if k not in ("status", "apiVersion")}
    trimmed["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in VOLATILE_METADATA}
    return trimmed


def _our_fields(obj: Object) -> Any:
    entries = (obj.get("metadata") or {}).get("managedFields") or []
    return next(
        (e.get("fieldsV1") for e in entries if e.get("manager") == FIELD_MANAGER and e.get("operation") == "Apply"),
        None,
    )


def _about(exc: ClusterError, ref: ObjectRef) -> ClusterError:
    """The same error, its message prefixed with the object it concerns."""
    if not exc.message.startswith(str(ref)):
        exc.message = f"{ref}: {exc.message}"
    return exc
