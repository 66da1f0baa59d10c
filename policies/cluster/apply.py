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

Requests run with bounded concurrency (``concurrency``), kind by kind: every ServiceEntry is
written before the first DestinationRule is sent, and so on, so a route never reaches the server
before what it routes to, and prune still removes dependants first. The first failure stops the
run: the writes of its kind already in flight finish (and are reported as what they did), the
rest are ``skipped``. ``progress`` is called on the calling thread, once per object, as each
outcome arrives; the result lists the objects in apply order whatever the order of completion.

If the server goes away midway, the result still says which objects were written; running the
same apply again converges, because server-side apply is idempotent and prune is by label.
"""

from __future__ import annotations

import contextlib
import copy
import itertools
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Literal

from policies.cluster.concurrency import REQUESTS_IN_FLIGHT, request_pool, submit
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
    concurrency: int = REQUESTS_IN_FLIGHT,
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
        progress: called on this thread after each object is written or pruned (not for ``skipped``).
        concurrency: requests in flight at once, in the plan and in each kind's writes (1: one by one).
    """
    result = ApplyResult(target, dry_run)
    try:
        plan = plan_changes(
            api, desired=desired, scope=scope, force_conflicts=force_conflicts, caps=caps, concurrency=concurrency
        )
    except ClusterError as exc:
        result.error = exc
        result.outcomes = [ObjectOutcome(ObjectRef.of(m), "skipped") for m in desired]
        return result
    if plan.errors or dry_run:
        result.outcomes = [_planned_outcome(p) for p in plan.objects]
        return result
    _execute(api, plan, result, force_conflicts, progress or (lambda _: None), concurrency)
    return result


def _planned_outcome(planned: PlannedObject) -> ObjectOutcome:
    if planned.error is not None:
        return ObjectOutcome(planned.ref, "failed", planned.changes, planned.error)
    return ObjectOutcome(planned.ref, _DONE[planned.action], planned.changes)


Step = tuple[int, PlannedObject]


def _execute(
    api: ClusterApi, plan: Plan, result: ApplyResult, force: bool, progress: Progress, concurrency: int
) -> None:
    steps = [p for p in plan.objects if p.action != "prune"] + [p for p in plan.objects if p.action == "prune"]
    with request_pool(concurrency) as pool:
        writes = _Writes(api, force, progress, pool, max(concurrency, 1))
        for stage in _stages(steps):
            if not writes.stage(stage):
                break
    result.outcomes = [writes.done.get(i) or ObjectOutcome(p.ref, "skipped", p.changes) for i, p in enumerate(steps)]
    failures = [o.error for o in result.outcomes if o.outcome == "failed"]
    result.error = next((e for e in failures if isinstance(e, FATAL)), None)


def _stages(steps: list[PlannedObject]) -> Iterator[list[Step]]:
    """Runs of consecutive steps of one kind (writes, then prunes): the order kinds must reach the server in."""
    grouped = itertools.groupby(enumerate(steps), key=lambda step: (step[1].action == "prune", step[1].ref.kind))
    return (list(stage) for _, stage in grouped)


@dataclass
class _Writes:
    """The writes of one apply: where they run, how many at once, and their outcomes by step index."""

    api: ClusterApi
    force: bool
    progress: Progress
    pool: ThreadPoolExecutor
    in_flight: int
    done: dict[int, ObjectOutcome] = field(default_factory=dict)

    def stage(self, stage: list[Step]) -> bool:
        """Write one kind's objects, ``in_flight`` at a time; False when one failed (nothing more is sent)."""
        waiting = iter(stage)
        running: dict[Future[ObjectOutcome], int] = {}

        def send_next() -> None:
            index, planned = next(waiting, (-1, None))
            if planned is not None:
                running[submit(self.pool, _write, self.api, planned, self.force)] = index

        for _ in range(self.in_flight):
            send_next()
        failed = False
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                outcome = self.done[running.pop(future)] = future.result()
                self.progress(outcome)
                failed = failed or outcome.outcome == "failed"
                if not failed:
                    send_next()
        return not failed


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
