"""Apply one policy's objects to a cluster: plan (dry run), write in order, prune, record outcomes.

The order of operations is what makes an apply safe:

1. Plan (``diff.plan_changes``): a server-side dry run of the whole set. If the server refuses
   any object (schema, CEL, RBAC, a field another manager owns), nothing is written and every
   refusal is reported, not just the first.
2. Write, in apply order, only the objects the plan says change, with field manager
   ``egress-console`` and the resourceVersion we listed as a precondition, so an edit made
   since the plan surfaces as Conflict instead of being overwritten. The server's response is
   the read-back we record. Unchanged objects cost no write: re-applying the same revision
   sends no PATCH at all.
3. Prune, only when every write succeeded: delete each labelled object the policy no longer
   generates, again guarded by its resourceVersion.

If the server goes away midway, the result still says which objects were written; running the
same apply again converges, because server-side apply is idempotent and prune is by label.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from policies.cluster.diff import FATAL, Action, Plan, PlannedObject, plan_changes
from policies.cluster.discovery import Capabilities, Target
from policies.cluster.errors import ClusterError, NotFound
from policies.cluster.interface import ClusterApi, Object, ObjectRef
from policies.cluster.scope import PolicyScope
from policies.core.diff import Change

Outcome = Literal["created", "configured", "unchanged", "pruned", "failed", "skipped"]
_DONE: dict[Action, Outcome] = {
    "create": "created",
    "change": "configured",
    "unchanged": "unchanged",
    "prune": "pruned",
}


@dataclass
class ObjectOutcome:
    """What happened to one object; ``skipped`` means it was not attempted because of an earlier failure."""

    ref: ObjectRef
    outcome: Outcome
    changes: list[Change] = field(default_factory=list)
    error: ClusterError | None = None
    resource_version: str = ""


@dataclass
class ApplyResult:
    """The outcome of one apply (or dry run): per object, plus the error that stopped it, if any."""

    target: Target | None
    dry_run: bool
    outcomes: list[ObjectOutcome] = field(default_factory=list)
    error: ClusterError | None = None

    @property
    def ok(self) -> bool:
        """True when nothing failed."""
        return self.error is None and all(o.outcome not in ("failed", "skipped") for o in self.outcomes)

    def refs(self, *outcomes: Outcome) -> list[ObjectRef]:
        """The objects with any of these outcomes, in order."""
        return [o.ref for o in self.outcomes if o.outcome in outcomes]

    @property
    def errors(self) -> list[ClusterError]:
        """Every error: per object, then the one that stopped the run."""
        found = [o.error for o in self.outcomes if o.error is not None]
        return found + ([self.error] if self.error is not None and self.error not in found else [])


Progress = Callable[[ObjectOutcome], None]


def apply_objects(
    api: ClusterApi,
    *,
    desired: list[Object],
    scope: PolicyScope,
    target: Target | None = None,
    dry_run: bool = False,
    force_conflicts: bool = False,
    caps: Capabilities | None = None,
    progress: Progress | None = None,
) -> ApplyResult:
    """Make the cluster hold exactly ``desired`` for ``scope``; never raises a ClusterError.

    Args:
        api: the cluster.
        desired: labelled manifests in apply order (``targets.desired_state``).
        scope: the policy; its labelled objects not in ``desired`` are pruned.
        target: recorded in the result.
        dry_run: plan only (server dry run); outcomes say what would happen.
        force_conflicts: take over fields that other field managers own.
        caps: discovered capabilities (default: cached discovery).
        progress: called after each object is written or pruned.
    """
    result = ApplyResult(target, dry_run)
    try:
        plan = plan_changes(api, desired=desired, scope=scope, force_conflicts=force_conflicts, caps=caps)
    except ClusterError as exc:
        result.error = exc
        result.outcomes = [ObjectOutcome(ObjectRef.of(m), "skipped") for m in desired]
        return result
    if plan.errors or dry_run:
        result.outcomes = [_planned_outcome(p) for p in plan.objects]
        return result
    _execute(api, plan, result, force_conflicts, progress or (lambda _: None))
    return result


def _planned_outcome(planned: PlannedObject) -> ObjectOutcome:
    if planned.error is not None:
        return ObjectOutcome(planned.ref, "failed", planned.changes, planned.error)
    return ObjectOutcome(planned.ref, _DONE[planned.action], planned.changes)


def _execute(api: ClusterApi, plan: Plan, result: ApplyResult, force: bool, progress: Progress) -> None:
    steps = [p for p in plan.objects if p.action != "prune"] + [p for p in plan.objects if p.action == "prune"]
    for index, planned in enumerate(steps):
        outcome = _write(api, planned, force)
        result.outcomes.append(outcome)
        progress(outcome)
        if outcome.outcome == "failed":
            result.error = outcome.error if isinstance(outcome.error, FATAL) else None
            result.outcomes += [ObjectOutcome(p.ref, "skipped", p.changes) for p in steps[index + 1 :]]
            return


def _write(api: ClusterApi, planned: PlannedObject, force: bool) -> ObjectOutcome:
    try:
        if planned.action == "prune":
            return _prune(api, planned)
        if planned.action == "unchanged":
            return ObjectOutcome(planned.ref, "unchanged", [], resource_version=_rv(planned.live))
        stored = api.apply(resource=planned.resource, manifest=_guarded(planned), force=force)
    except ClusterError as exc:
        return ObjectOutcome(planned.ref, "failed", planned.changes, exc)
    return ObjectOutcome(planned.ref, _DONE[planned.action], planned.changes, resource_version=_rv(stored))


def _prune(api: ClusterApi, planned: PlannedObject) -> ObjectOutcome:
    ref = planned.ref
    with contextlib.suppress(NotFound):  # NB: already gone is what prune wanted.
        api.delete(
            resource=planned.resource, namespace=ref.namespace, name=ref.name, resource_version=_rv(planned.live)
        )
    return ObjectOutcome(ref, "pruned", planned.changes)


def _guarded(planned: PlannedObject) -> Object:
    """The manifest with the listed resourceVersion as a precondition (no precondition on create)."""
    assert planned.manifest is not None
    if planned.live is None:
        return planned.manifest
    guarded = copy.deepcopy(planned.manifest)
    guarded["metadata"]["resourceVersion"] = _rv(planned.live)
    return guarded


def _rv(obj: Object | None) -> str:
    return str(((obj or {}).get("metadata") or {}).get("resourceVersion", ""))
