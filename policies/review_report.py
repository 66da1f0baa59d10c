"""What a reviewer reads before deciding: one report, assembled for the review page, the API and the admin.

A review's revision is compared with a *base*: the last revision applied to a chosen cluster
(without a cluster, the latest revision applied to any cluster; the empty policy when none was
applied). The report holds, in the order a reviewer needs them: the reachability change (which
(source, URL) pairs newly pass or are blocked, simulated in the cluster's outbound mode), the
semantic summary, and side-by-side line diffs of the CR and of every Istio object (computed and
cached by ``policies.review_comparison``). None of it calls a cluster; the plan against the
cluster's live state does, so it is built apart (``policies.review_plan``) and fetched
separately, never holding up the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

from django.db.models import Prefetch

from policies.clusters import ClusterMesh, mesh_for, outbound_mode_for
from policies.core.i18n import Translate
from policies.core.policy_changes import PolicyChange
from policies.core.reachability_change import ReachabilityChange
from policies.models import ApplyRecord, Approval, Cluster, PolicyRevision, Review
from policies.review_comparison import (
    ComparisonInputs,
    Diffs,
    ReportUnavailable,
    comparison_diffs,
    comparison_meaning,
)

DEFAULT_MESH_MODE = "REGISTRY_ONLY"
__all__ = ["Base", "ReportUnavailable", "ReviewReport", "applied_base", "build_report", "report_queryset"]


def report_queryset() -> Any:
    """Reviews with everything the report and the page read: one query, plus one per related list."""
    return Review.objects.select_related(
        "policy__gateway", "policy__draft", "revision__author", "restores", "author"
    ).prefetch_related(
        "policy__gateway__ports",
        Prefetch("decisions", queryset=Approval.objects.select_related("user")),
        "contributors",
    )


@dataclass(frozen=True)
class Base:
    """What the review is compared with: an applied revision (on ``cluster``, or anywhere) or the empty policy."""

    revision: PolicyRevision | None
    cluster: Cluster | None
    applied_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: kind (``revision`` | ``empty``), revision number, contentHash, cluster, appliedAt."""
        return {
            "kind": "revision" if self.revision else "empty",
            "revision": self.revision.number if self.revision else None,
            "contentHash": self.revision.content_hash if self.revision else None,
            "cluster": self.cluster.name if self.cluster else None,
            "appliedAt": self.applied_at.isoformat() if self.applied_at else None,
        }


def applied_base(review: Review, cluster: Cluster | None = None) -> Base:
    """The newest revision of the review's policy applied successfully (to ``cluster`` when given), in one query.

    Every apply leaves an apply record with its revision (the CLI's and the review's apply job alike), so the
    records alone say what was applied where.
    """
    records = ApplyRecord.objects.filter(
        policy_id=review.policy_id, action=ApplyRecord.Action.APPLY, succeeded=True, revision__isnull=False
    )
    if cluster is not None:
        records = records.filter(cluster=cluster)
    record = records.select_related("revision").order_by("-created_at", "-pk").first()
    if record is None or record.revision is None:
        return Base(None, cluster, None)
    return Base(record.revision, cluster, record.created_at)


def mesh_mode_of(cluster: Cluster | None) -> tuple[str, str]:
    """The outbound traffic mode to simulate in, and where it comes from (``cluster``'s last check, or ``default``)."""
    mode = outbound_mode_for(cluster)
    return (mode, "cluster") if mode else (DEFAULT_MESH_MODE, "default")


@dataclass
class ReviewReport:
    """Everything the review page shows except the plan, reachability change first; the diffs on demand."""

    review: Review
    base: Base
    mesh_mode: str
    mesh_mode_source: str
    mesh_sidecars: dict[str, Any]
    reachability: ReachabilityChange
    summary: list[PolicyChange]
    inputs: ComparisonInputs

    @cached_property
    def diffs(self) -> Diffs:
        """The CR and Istio line diffs (read from the cache only when asked for: they are the bulk of it)."""
        return comparison_diffs(self.inputs)

    def as_dict(self, translate: Translate) -> dict[str, Any]:
        """The API's JSON for this report (the plan is added by the caller when asked for)."""
        review = self.review
        return {
            "review": {
                "id": review.pk,
                "state": review.state,
                "policy": review.policy.name,
                "revision": review.revision.number,
                "contentHash": review.revision.content_hash,
                "restores": review.restores.number if review.restores else None,
            },
            "base": self.base.as_dict(),
            "meshMode": {"mode": self.mesh_mode, "source": self.mesh_mode_source, "sidecars": self.mesh_sidecars},
            "reachability": self.reachability.as_dict(translate),
            "summary": [change.as_dict(translate) for change in self.summary],
            "diffs": self.diffs.as_dict(),
        }


def build_report(review: Review, *, cluster: Cluster | None = None) -> ReviewReport:
    """The report of ``review`` against the last revision applied (to ``cluster``, or anywhere).

    Raises:
        ReportUnavailable: a revision cannot be expanded against the gateway as it is now.
    """
    base = applied_base(review, cluster)
    mode, mode_source = mesh_mode_of(cluster)
    # NB: the summary mode is shown; the simulation takes the cluster's Sidecars and the mode they fall back to.
    mesh = mesh_for(cluster) or ClusterMesh(mode)
    old = base.revision.document if base.revision else None
    gateway = review.policy.gateway.describe()
    inputs = ComparisonInputs(old, review.revision.document, gateway, mesh.mode, mesh.sidecars)
    meaning = comparison_meaning(inputs)
    return ReviewReport(review, base, mode, mode_source, mesh.describe(), meaning.reachability, meaning.summary, inputs)
