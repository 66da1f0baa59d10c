"""``egress apply --policy NAME | --review ID --user NAME --cluster NAME``: apply what was approved, as a job.

The reviewed path of ``egress apply``: it never reads the draft. It picks the policy's approved
review (or the one ``--review`` names), and goes through ``jobs.start_apply`` acting as ``--user``,
so the same rules as the console and the API hold (the operator's right, an approved and unchanged
revision, one apply per policy and cluster at a time) and the job, the deployment and the audit
entry are recorded. The job then runs here, in this process, so no worker is needed.
"""

from __future__ import annotations

import argparse
from typing import Any

from policies.cli.base import EXIT_INVALID, EXIT_OK, CommandIO, UsageError
from policies.cli.cluster_output import print_table

APPLICABLE_STATES = ("approved", "applied", "failed")


def run_reviewed(args: argparse.Namespace, io: CommandIO) -> int:
    """Apply the approved review's revision to ``--cluster``; exit 0 when it succeeded, 1 when refused or failed."""
    from policies import jobs, reviews
    from policies.cluster.errors import ClusterError
    from policies.job_runner import run_apply_job
    from policies.services import ServiceError

    review, user = find_review(args), find_user(args.user)
    clusters = _clusters(args)
    try:
        reviews.check_applicable(review, clusters[0], user=user)  # NB: refuse before discovery contacts it
        target = args.target or _discovered_target(clusters[0])
        job = jobs.start_apply(review, clusters, target=target, dry_run=args.dry_run, user=user, enqueue=False)
    except (ServiceError, ClusterError) as exc:  # NB: a ClusterError while discovering the target
        io.err(f"egress apply: error {exc.code}: {exc.message}")
        return EXIT_INVALID
    run_apply_job.call(job.pk)
    return report(io, jobs.jobs_with_progress().get(pk=job.pk))


def find_review(args: argparse.Namespace) -> Any:
    """The review ``--review`` names (of ``--policy``, if given too), else the policy's latest approved one."""
    from policies.models import Review

    reviews = Review.objects.select_related("policy", "revision")
    if args.review is not None:
        review = reviews.filter(pk=args.review).first()
        if review is None or (args.policy and review.policy.name != args.policy):
            raise UsageError(f"no review #{args.review}" + (f" of policy {args.policy!r}" if args.policy else ""))
        return review
    review = reviews.filter(policy__name=args.policy, state__in=APPLICABLE_STATES).order_by("-created_at").first()
    if review is None:
        raise UsageError(
            f"policy {args.policy!r} has no approved review: submit the draft and have someone approve it "
            "(or apply a FILE out of band)"
        )
    return review


def find_user(name: str | None) -> Any:
    """The console user the apply acts as (their roles decide whether they may)."""
    from django.contrib.auth import get_user_model

    if not name:
        raise UsageError("a reviewed apply acts as a console user: add --user NAME (an operator)")
    user = get_user_model().objects.filter(username=name).first()
    if user is None:
        raise UsageError(f"no console user named {name!r}")
    return user


def _clusters(args: argparse.Namespace) -> list[Any]:
    from policies import jobs
    from policies.services import ServiceError

    if args.kubeconfig or not args.cluster:
        raise UsageError("a reviewed apply goes to a stored cluster: use --cluster NAME (FILE applies out of band)")
    if args.force_conflicts:
        raise UsageError("--force-conflicts is for out-of-band FILE applies only")
    try:
        return jobs.resolve_clusters([args.cluster])
    except ServiceError as exc:
        raise UsageError(exc.message) from exc


def _discovered_target(cluster: Any) -> str:
    from policies.cluster.discovery import capabilities
    from policies.cluster.records import connect_cluster

    return str(capabilities(connect_cluster(cluster)).pick_target(None))


def report(io: CommandIO, job: Any) -> int:
    """One row per object, a summary line per cluster, and the error that failed a cluster."""
    table = [("KIND", "NAMESPACE/NAME", "OUTCOME", "DETAILS")]
    for row in job.clusters.all():
        for item in row.items.all():
            detail = (
                f"{item.error_code} {item.message}" if item.error_code else ", ".join(c["path"] for c in item.changes)
            )
            table.append((item.kind, f"{item.namespace}/{item.name}", item.outcome, detail))
    print_table(io, table)
    mode = "dry run" if job.dry_run else "apply"
    for row in job.clusters.all():
        outcomes = [item.outcome for item in row.items.all()]
        counts = ", ".join(f"{outcomes.count(o)} {o}" for o in dict.fromkeys(outcomes)) or "nothing"
        io.out(
            f"{mode} of review #{job.review_id} (revision {job.revision.number}, target {job.target}) "
            f"on {row.cluster.name}: {counts} [job #{job.pk}]"
        )
        if row.error_code:
            io.err(f"egress apply: error {row.error_code}: {row.error_message}")
    return EXIT_OK if job.state == "succeeded" else EXIT_INVALID
