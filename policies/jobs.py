"""Starting an apply job: the checks that decide whether it may run, and the row that says it will.

The web request (API, console, CLI) only checks and enqueues: ``start_apply`` refuses anything
but this review's approved, unchanged revision for every chosen cluster (the same
``reviews.check_applicable`` every path uses), then writes the job and its per-cluster rows and
hands the job id to the task queue with the same transaction (``queue``). The cluster calls happen in the
worker (``policies.job_runner``), so a slow or dead cluster never holds a request.

"Two operators applying at once: exactly one runs" is the database's partial unique index on the
per-cluster rows (one queued or running apply per policy and cluster): the second insert fails
with an IntegrityError on every database and every process, and the operator is told which job
holds the cluster.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django_guid import get_guid

from policies import reviews, services, webhooks
from policies.audit import append_entry
from policies.models import ApplyJob, ApplyJobCluster, ApplyJobObject, Cluster, Review
from policies.models_jobs import ACTIVE_STATES, JobState
from policies.queue import enqueue_with_transaction

TARGETS = ("asm", "istio")


class ApplyRunning(services.ServiceError):
    """Another apply of the same policy to one of the clusters is queued or running; nothing was started."""

    code = "APPLY_RUNNING"
    status = 409

    def __init__(self, message: str, *, job_id: int, cluster: str) -> None:
        super().__init__(message, path="clusters")
        self.job_id = job_id
        self.cluster = cluster


class ApplyRequestInvalid(services.ServiceError):
    """The apply request names no cluster, an unknown one, or an unknown target."""

    code = "invalid"
    status = 400


def resolve_clusters(names: Sequence[str]) -> list[Cluster]:
    """The stored clusters named, in the order given (duplicates once); ``ApplyRequestInvalid`` if any is unknown."""
    wanted = list(dict.fromkeys(names))
    if not wanted:
        raise ApplyRequestInvalid(_("Choose at least one cluster."), path="clusters")
    found = {c.name: c for c in Cluster.objects.filter(name__in=wanted)}
    for index, name in enumerate(wanted):
        if name not in found:
            raise ApplyRequestInvalid(
                _("There is no cluster named %(name)s.") % {"name": name}, path=f"clusters[{index}]"
            )
    return [found[name] for name in wanted]


def start_apply(
    review: Review, clusters: Sequence[Cluster], *, target: str, dry_run: bool, user: Any, enqueue: bool = True
) -> ApplyJob:
    """Check, record and enqueue an apply (or dry run) of ``review``'s revision to ``clusters``.

    Raises ``ReviewRefused`` (403 without the operator's right; 409 unless approved, or superseded /
    withdrawn), ``RevisionChanged`` (409) when the revision no longer matches its hash,
    ``ApplyRunning`` (409) when another apply holds one of the clusters, ``ApplyRequestInvalid`` (400).
    ``enqueue=False`` leaves running the job to the caller (the CLI runs it in its own process).
    """
    if target not in TARGETS:
        raise ApplyRequestInvalid(_("Use one of: %(choices)s.") % {"choices": ", ".join(TARGETS)}, path="target")
    if not clusters:
        raise ApplyRequestInvalid(_("Choose at least one cluster."), path="clusters")
    for cluster in clusters:
        reviews.check_applicable(review, cluster, user=user)
    with transaction.atomic():
        review = Review.objects.select_related("policy", "revision").get(pk=review.pk)
        job = ApplyJob.objects.create(
            review=review,
            revision=review.revision,
            content_hash=review.revision.content_hash,
            target=target,
            dry_run=dry_run,
            user=services._user_or_none(user),
            request_id=get_guid() or "",
        )
        for cluster in clusters:
            _claim_cluster(job, cluster)
        if not dry_run:
            append_entry(
                action="review.apply_start",
                user=user,
                policy=review.policy,
                revision=review.revision,
                cluster=",".join(c.name for c in clusters),
                target=target,
                result={"job": job.pk},
            )
            webhooks.review_event(review, "apply_started", user=user, job=job.pk, clusters=[c.name for c in clusters])
        if enqueue:
            enqueue_job(job.pk)
    return job


def jobs_with_progress() -> QuerySet[ApplyJob]:
    """Jobs with everything their progress shows (review, revision, user, clusters, objects) in four queries."""
    items = Prefetch("items", queryset=ApplyJobObject.objects.order_by("position"))
    rows = Prefetch("clusters", queryset=ApplyJobCluster.objects.select_related("cluster").prefetch_related(items))
    return ApplyJob.objects.select_related("review__policy", "revision", "user").prefetch_related(rows)


def jobs_with_counts() -> QuerySet[ApplyJob]:
    """Jobs with each cluster's count of objects per outcome (``count_<outcome>``), without the objects."""
    outcomes = ApplyJobObject.Outcome.values
    counts = {f"count_{o}": Count("items", filter=Q(items__outcome=o)) for o in outcomes}
    rows = Prefetch("clusters", queryset=ApplyJobCluster.objects.select_related("cluster").annotate(**counts))
    return ApplyJob.objects.select_related("review__policy", "revision", "user").prefetch_related(rows)


def enqueue_job(job_id: int) -> None:
    """Hand the job to the task queue with the current transaction (the worker runs ``job_runner.run_apply_job``)."""
    from policies.job_runner import run_apply_job  # NB: the runner pulls in the cluster client; only now

    enqueue_with_transaction(run_apply_job, job_id)


def _claim_cluster(job: ApplyJob, cluster: Cluster) -> None:
    if not job.dry_run:
        release_abandoned(job.review.policy_id, cluster)
    try:
        with transaction.atomic():
            ApplyJobCluster.objects.create(
                job=job, cluster=cluster, policy_id=job.review.policy_id, dry_run=job.dry_run
            )
    except IntegrityError:
        holder = active_apply(job.review.policy_id, cluster)
        if holder is None:  # NB: the other apply finished between our insert and this read; retrying is safe
            raise
        raise ApplyRunning(
            _("Job #%(job)s is already applying this policy to cluster %(cluster)s; wait for it to finish.")
            % {"job": holder.job_id, "cluster": cluster.name},
            job_id=holder.job_id,
            cluster=cluster.name,
        ) from None


def active_apply(policy_id: int, cluster: Cluster) -> ApplyJobCluster | None:
    """The queued or running (non-dry-run) apply of the policy to ``cluster``, if any."""
    return ApplyJobCluster.objects.filter(
        policy_id=policy_id, cluster=cluster, dry_run=False, state__in=ACTIVE_STATES
    ).first()


def abandoned_after() -> timedelta:
    """How long a running cluster may go without progress before its worker is presumed dead."""
    return timedelta(seconds=int(getattr(settings, "EGRESS_APPLY_ABANDONED_AFTER", 900)))


def release_abandoned(policy_id: int, cluster: Cluster) -> None:
    """Mark failed an apply that holds ``cluster`` for nothing, so it no longer blocks: one no worker took
    up (none running) or one whose worker stopped reporting (killed, host lost)."""
    _release_never_started(policy_id, cluster)
    _release_lost(policy_id, cluster)


def _release_never_started(policy_id: int, cluster: Cluster) -> None:
    """A job still queued after ``abandoned_after``: no worker runs, so nothing would ever apply it.

    NB: the job row is locked and must still be queued, as the worker's start locks and checks it:
    either the worker started it first (then it is running, and not released here) or it finds it
    failed and does not run it.
    """
    with transaction.atomic():
        waiting = ApplyJob.objects.select_for_update(of=("self",)).filter(
            state=JobState.QUEUED,
            created_at__lt=timezone.now() - abandoned_after(),
            clusters__policy_id=policy_id,
            clusters__cluster=cluster,
            clusters__dry_run=False,
        )
        job_ids = list(waiting.values_list("pk", flat=True))
        if not job_ids:
            return
        ApplyJobCluster.objects.filter(job_id__in=job_ids, state=JobState.QUEUED).update(
            state=JobState.FAILED,
            error_code="NO_WORKER",
            error_message=_("No worker took the apply up (is the job worker running?); it was abandoned."),
            finished_at=timezone.now(),
        )
        ApplyJob.objects.filter(pk__in=job_ids).update(state=JobState.FAILED, finished_at=timezone.now())


def _release_lost(policy_id: int, cluster: Cluster) -> None:
    stale = ApplyJobCluster.objects.filter(
        policy_id=policy_id,
        cluster=cluster,
        dry_run=False,
        state=JobState.RUNNING,
        updated_at__lt=timezone.now() - abandoned_after(),
    )
    job_ids = list(stale.values_list("job_id", flat=True))
    if not job_ids:
        return
    stale.update(
        state=JobState.FAILED,
        error_code="WORKER_LOST",
        error_message=_("The worker stopped reporting progress; the apply was abandoned."),
        finished_at=timezone.now(),
    )
    ApplyJob.objects.filter(pk__in=job_ids).exclude(clusters__state__in=ACTIVE_STATES).update(
        state=JobState.FAILED, finished_at=timezone.now()
    )
