"""Running an apply job in the worker: every cluster in parallel, progress streamed into the database.

Each cluster gets its own thread (and so its own database connection, closed when it ends): a
slow or dead cluster delays only its own row. The thread re-checks the review (it may have been
withdrawn or superseded while queued), connects, expands the revision for the cluster, lists the
objects as pending, and runs ``apply_objects``; its ``progress`` callback only puts the outcome on
a queue. One writer thread drains that queue for every cluster at once, in batches (one bulk write
for what several clusters reported meanwhile), so a cluster's thread never waits on a progress write.
When a cluster ends, its final outcomes replace the progress rows and ``reviews.record_apply_outcome``
stores the deployment and its audit entry; a dry run changes no deployment, but its plan gets an
audit entry of its own (``review.dry_run``), so the audit trail shows every contact with a cluster.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast, get_args

from django.db import close_old_connections, connection, transaction
from django.utils import timezone
from django_guid import set_guid
from django_tasks import task

from policies import reviews, services
from policies.audit import append_entry
from policies.cluster.apply import ApplyResult, ObjectOutcome, Outcome, apply_objects
from policies.cluster.discovery import Target, capabilities
from policies.cluster.errors import ClusterError
from policies.cluster.records import connect_cluster, record_result
from policies.cluster.targets import DesiredState, desired_state
from policies.core.document import parse_policy_data
from policies.core.expansion import ExpansionError
from policies.models import ApplyJob, ApplyJobCluster, ApplyJobObject, ApplyRecord
from policies.models_jobs import JobState

logger = logging.getLogger(__name__)

ROW_FIELDS = ["outcome", "error_code", "message", "changes"]
COUNTED_OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)
REVIEW_REFUSALS = ("permission_denied", "INVALID_TRANSITION", "REVISION_CHANGED", "NOT_SUBMITTER")
"""Error codes of the review refusing the job before any cluster was contacted."""


@task()
def run_apply_job(job_id: int) -> str:
    """The task: run every cluster of a queued job in parallel; returns the job's final state."""
    job = _start(job_id)
    if job is None:
        return "not queued"
    try:
        _run_clusters(job)
    except BaseException:
        _abandon(job)  # NB: an unexpected error (or the worker stopping) must not leave the clusters held
        raise
    return _finish(job)


def _run_clusters(job: ApplyJob) -> None:
    rows = list(job.clusters.select_related("cluster"))
    writer = ProgressWriter()
    try:
        with ThreadPoolExecutor(max_workers=_parallelism(rows), thread_name_prefix=f"apply-job-{job.pk}") as pool:
            list(pool.map(lambda row: _in_own_connection(_run_cluster, job, row, writer), rows))
    finally:
        writer.close()


def _abandon(job: ApplyJob) -> None:
    logger.error("apply job %s stopped unexpectedly; its unfinished clusters are marked failed", job.pk)
    job.clusters.filter(state__in=(JobState.QUEUED, JobState.RUNNING)).update(
        state=JobState.FAILED,
        error_code="INTERNAL",
        error_message="The apply stopped on an unexpected error; see the worker's log.",
        finished_at=timezone.now(),
    )
    _finish(job)


def _parallelism(rows: list[ApplyJobCluster]) -> int:
    """One thread per cluster; one at a time on an in-memory SQLite database (the test suite's), whose
    shared cache refuses a second writer at once ("table is locked") instead of waiting like a file does."""
    in_memory = connection.vendor == "sqlite" and getattr(connection, "is_in_memory_db", bool)()
    return 1 if in_memory else max(len(rows), 1)


def _start(job_id: int) -> ApplyJob | None:
    with transaction.atomic():
        job = (
            ApplyJob.objects.select_for_update(of=("self",))  # NB: PostgreSQL locks no outer-joined row
            .select_related("review__policy__gateway", "revision", "user")
            .filter(pk=job_id, state=JobState.QUEUED)
            .first()
        )
        if job is None:  # NB: already run (a re-delivered task) or gone
            return None
        job.state, job.started_at = JobState.RUNNING, timezone.now()
        job.save(update_fields=["state", "started_at"])
    return job


def _finish(job: ApplyJob) -> str:
    states = set(job.clusters.values_list("state", flat=True))
    job.state = JobState.SUCCEEDED if states == {JobState.SUCCEEDED} else JobState.FAILED
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "finished_at"])
    return job.state


def _in_own_connection(work: Any, *args: Any) -> None:
    """Run ``work`` on this thread's own database connection and close it afterwards, whatever happens."""
    try:
        work(*args)
    finally:
        connection.close()


def _run_cluster(job: ApplyJob, row: ApplyJobCluster, writer: ProgressWriter) -> None:
    set_guid(job.request_id or f"apply-job-{job.pk}")
    _update(row, state=JobState.RUNNING, started_at=timezone.now())
    try:
        reviews.check_applicable(job.review, row.cluster, user=job.user)  # NB: withdrawn or superseded meanwhile?
        api = connect_cluster(row.cluster)
        state = _desired(job, api)
        _list_pending(row, state)
        result = apply_objects(
            api,
            desired=state.objects,
            scope=state.scope,
            target=state.target,
            dry_run=job.dry_run,
            progress=writer.reporter(row.pk),
        )
        writer.drain()
        _store_result(job, row, state, result)
    except (ClusterError, ExpansionError, services.ServiceError) as exc:
        _fail(job, row, exc.code, getattr(exc, "message", str(exc)))
    except Exception:
        logger.exception("apply job %s on cluster %s failed unexpectedly", job.pk, row.cluster.name)
        _fail(job, row, "INTERNAL", "The apply stopped on an unexpected error; see the worker's log.")


def _desired(job: ApplyJob, api: Any) -> DesiredState:
    parsed = parse_policy_data(job.revision.document)
    assert parsed.policy is not None  # NB: check_applicable verified the hash of a validated revision
    gateway = job.review.policy.gateway
    tuned = services.translation_settings().model_copy(update={"gateway_namespace": gateway.namespace})
    target = cast(Target, job.target)  # NB: the column's choices are the targets
    return desired_state(parsed.policy, capabilities(api), target=target, gateway=gateway.describe(), settings=tuned)


def _list_pending(row: ApplyJobCluster, state: DesiredState) -> None:
    ApplyJobObject.objects.bulk_create(
        [ApplyJobObject(job_cluster=row, position=i, **_ref_fields(m)) for i, m in enumerate(state.objects)]
    )


def _ref_fields(manifest: dict[str, Any]) -> dict[str, str]:
    meta = manifest.get("metadata") or {}
    return {"kind": manifest["kind"], "namespace": meta.get("namespace", ""), "name": meta["name"]}


def _store_result(job: ApplyJob, row: ApplyJobCluster, state: DesiredState, result: ApplyResult) -> None:
    ApplyJobObject.objects.bulk_create(
        [object_row(row.pk, o, position) for position, o in enumerate(result.outcomes)],
        update_conflicts=True,
        unique_fields=["job_cluster", "kind", "namespace", "name"],
        update_fields=[*ROW_FIELDS, "position"],
    )
    error = result.errors[0] if result.errors else None
    record_result(
        result,
        cluster=row.cluster,
        scope=state.scope,
        action=ApplyRecord.Action.DRY_RUN if job.dry_run else ApplyRecord.Action.APPLY,
        policy=job.review.policy,
        revision=job.revision,
        user=job.user,
    )
    counts: dict[str, int] = {o: len(result.refs(o)) for o in COUNTED_OUTCOMES}
    failure = f"{error.code}: {error.message}" if error else ""
    _record_outcome(
        job, row, succeeded=result.ok, target=state.target, manifests=state.objects, result=counts, error=failure
    )
    if result.ok:
        _update(row, state=JobState.SUCCEEDED, finished_at=timezone.now())
    else:
        _update(row, state=JobState.FAILED, finished_at=timezone.now(), **_error_fields(error))


def _error_fields(error: ClusterError | None) -> dict[str, str]:
    if error is None:
        return {"error_code": "OBJECT_FAILED", "error_message": "Some objects failed; see their errors."}
    return {"error_code": error.code, "error_message": error.message}


def _fail(job: ApplyJob, row: ApplyJobCluster, code: str, message: str) -> None:
    """Fail the row before or without a cluster result; a real apply's deployment says failed too (retryable)."""
    _update(row, state=JobState.FAILED, finished_at=timezone.now(), error_code=code, error_message=message)
    if code in REVIEW_REFUSALS:
        return  # NB: the review refused the apply itself; no cluster was contacted, no outcome to record
    try:
        _record_outcome(
            job, row, succeeded=False, target=job.target, manifests=[], result={}, error=f"{code}: {message}"
        )
    except services.ServiceError as exc:
        logger.warning("apply job %s: the failure on %s was not recorded: %s", job.pk, row.cluster.name, exc.code)


def _record_outcome(
    job: ApplyJob,
    row: ApplyJobCluster,
    *,
    succeeded: bool,
    target: str,
    manifests: list[Any],
    result: dict[str, Any],
    error: str,
) -> None:
    """How the job ended on one cluster, the job's number added to ``result``: a real apply's deployment and
    audit entry (``reviews.record_apply_outcome``), or a dry run's audit entry (the plan, objects per outcome)."""
    result = {"job": job.pk, **result}
    if not job.dry_run:
        reviews.record_apply_outcome(
            job.review,
            row.cluster,
            user=job.user,
            succeeded=succeeded,
            target=target,
            manifests=manifests,
            result=result,
            error=error,
        )
        return
    state = JobState.SUCCEEDED if succeeded else JobState.FAILED
    append_entry(
        action="review.dry_run",
        user=job.user,
        policy=job.review.policy,
        revision=job.revision,
        cluster=row.cluster.name,
        target=target,
        manifests=manifests,
        result={**result, "state": state.value, **({"error": error} if error else {})},
    )


def _update(row: ApplyJobCluster, **fields: Any) -> None:
    for name, value in fields.items():
        setattr(row, name, value)
    row.save(update_fields=[*fields, "updated_at"])


def object_row(row_id: int, outcome: ObjectOutcome, position: int) -> ApplyJobObject:
    """The per-object row for one outcome (changes as operation, path, old and new)."""
    ref, error = outcome.ref, outcome.error
    return ApplyJobObject(
        job_cluster_id=row_id,
        position=position,
        kind=ref.kind,
        namespace=ref.namespace or "",
        name=ref.name,
        outcome=outcome.outcome,
        error_code=error.code if error else "",
        message=error.message if error else "",
        changes=[{"op": c.operation, "path": c.dotted_path, "old": c.old, "new": c.new} for c in outcome.changes],
    )


class ProgressWriter:
    """Writes per-object progress of every cluster's thread: callers only enqueue, one thread writes in batches.

    ``reporter(row_id)`` is the ``progress`` callback for one cluster; ``drain()`` waits until
    everything reported so far is written; ``close()`` drains and stops the thread.
    """

    def __init__(self) -> None:
        self._queue: queue.Queue[Any] = queue.Queue()
        self._positions: dict[int, int] = {}
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=_in_own_connection, args=(self._loop,), daemon=True)
        self._thread.start()

    def reporter(self, row_id: int) -> Any:
        def report(outcome: ObjectOutcome) -> None:
            with self._lock:  # NB: positions for objects the plan adds (pruned ones) come after the desired
                position = self._positions[row_id] = self._positions.get(row_id, 100_000) + 1
            self._queue.put(object_row(row_id, outcome, position))

        return report

    def drain(self) -> None:
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _loop(self) -> None:
        close_old_connections()
        while (item := self._queue.get()) is not None:
            batch = [item]
            while not self._queue.empty():
                batch.append(self._queue.get())
            self._write(batch)
            if None in batch:
                return

    def _write(self, batch: list[Any]) -> None:
        rows = [item for item in batch if isinstance(item, ApplyJobObject)]
        try:
            if rows:
                ApplyJobObject.objects.bulk_create(
                    rows,
                    update_conflicts=True,
                    unique_fields=["job_cluster", "kind", "namespace", "name"],
                    update_fields=ROW_FIELDS,
                )
                ids = {r.job_cluster_id for r in rows}
                ApplyJobCluster.objects.filter(pk__in=ids).update(updated_at=timezone.now())
        except Exception:  # NB: progress is advisory; the final outcomes are written by the cluster's thread
            logger.exception("apply progress could not be written")
        finally:
            for item in batch:
                if isinstance(item, threading.Event):
                    item.set()
