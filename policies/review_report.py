"""What a reviewer reads before deciding: one report, assembled for the review page, the API and the admin.

A review's revision is compared with a *base*: the last revision applied to a chosen cluster
(without a cluster, the latest revision applied to any cluster; the empty policy when none was
applied). The report holds, in the order a reviewer needs them: the reachability change (which
(source, URL) pairs newly pass or are blocked, simulated in the cluster's outbound mode), the
semantic summary, and side-by-side line diffs of the CR and of every Istio object. None of it
calls a cluster; the plan against the cluster's live state does, so it is built apart
(``policies.review_plan``) and fetched separately, never holding up the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from policies.clusters import outbound_mode_for
from policies.core.document import dump_policy
from policies.core.expansion import ExpansionError, expand_policy
from policies.core.i18n import Translate
from policies.core.line_diff import LineDiff, line_diff
from policies.core.model import EgressPolicy as PolicyModel
from policies.core.policy_changes import PolicyChange, policy_changes
from policies.core.reachability_change import (
    Probes,
    ReachabilityChange,
    objects_reachability_change,
    probe_sources,
    probe_urls,
)
from policies.core.yamlio import dump_yaml
from policies.models import ApplyRecord, Approval, Cluster, Deployment, PolicyRevision, Review
from policies.services import ServiceError, translation_settings

DEFAULT_MESH_MODE = "REGISTRY_ONLY"


class ReportUnavailable(ServiceError):
    """A revision of the review cannot be expanded (e.g. its gateway port was removed since)."""

    code = "REVIEW_REPORT_UNAVAILABLE"
    status = 409


def report_queryset() -> Any:
    """Reviews with everything the report and the page read: one query, plus one per related list."""
    return Review.objects.select_related(
        "policy__gateway", "policy__draft", "revision__author", "restores", "author"
    ).prefetch_related(
        "policy__gateway__ports",
        Prefetch("decisions", queryset=Approval.objects.select_related("user")),
        Prefetch("deployments", queryset=Deployment.objects.select_related("cluster")),
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


@dataclass(frozen=True)
class ObjectDiff:
    """One Istio object's YAML before and after: ``added``, ``removed``, ``changed`` or ``unchanged``."""

    kind: str
    namespace: str
    name: str
    status: str
    diff: LineDiff

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: kind, namespace, name, status, diff."""
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "status": self.status,
            "diff": self.diff.as_dict(),
        }


@dataclass(frozen=True)
class ReviewReport:
    """Everything the review page shows except the plan, reachability change first."""

    review: Review
    base: Base
    mesh_mode: str
    mesh_mode_source: str
    reachability: ReachabilityChange
    summary: list[PolicyChange]
    cr_diff: LineDiff
    object_diffs: list[ObjectDiff]

    def object_counts(self) -> dict[str, int]:
        """How many Istio objects are added, removed, changed and unchanged."""
        counts = {"added": 0, "removed": 0, "changed": 0, "unchanged": 0}
        for item in self.object_diffs:
            counts[item.status] += 1
        return counts

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
            "meshMode": {"mode": self.mesh_mode, "source": self.mesh_mode_source},
            "reachability": self.reachability.as_dict(translate),
            "summary": [change.as_dict(translate) for change in self.summary],
            "diffs": {
                "cr": self.cr_diff.as_dict(),
                "istio": [item.as_dict() for item in self.object_diffs],
                "istioCounts": self.object_counts(),
            },
        }


def build_report(review: Review, *, cluster: Cluster | None = None) -> ReviewReport:
    """The report of ``review`` against the last revision applied (to ``cluster``, or anywhere).

    Raises:
        ReportUnavailable: a revision cannot be expanded against the gateway as it is now.
    """
    base = applied_base(review, cluster)
    mode, mode_source = mesh_mode_of(cluster)
    new = PolicyModel.model_validate(review.revision.document)
    old = PolicyModel.model_validate(base.revision.document) if base.revision else None
    gateway, settings = review.policy.gateway.describe(), translation_settings()
    try:
        before = expand_policy(old, gateway, settings) if old else []
        after = expand_policy(new, gateway, settings)
    except ExpansionError as exc:
        raise ReportUnavailable(
            _("This revision cannot be expanded against gateway %(gateway)s as it is now: %(error)s")
            % {"gateway": gateway.name, "error": exc.message},
            path=exc.path,
        ) from exc
    policies = [p for p in (old, new) if p is not None]
    probes = Probes(probe_sources(policies, settings), probe_urls(policies))
    reachability = objects_reachability_change(before, after, probes, gateway, settings, mesh_mode=mode)
    cr_diff = line_diff(dump_policy(old) if old else "", dump_policy(new))
    return ReviewReport(
        review, base, mode, mode_source, reachability, policy_changes(old, new), cr_diff, object_diffs(before, after)
    )


def object_diffs(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> list[ObjectDiff]:
    """Each Istio object paired by kind, namespace and name: the new ones in apply order, then the removed."""
    old_by_key = {_key(obj): obj for obj in before}
    new_keys = {_key(obj) for obj in after}
    paired: list[tuple[dict[str, Any] | None, dict[str, Any] | None]] = [(old_by_key.get(_key(o)), o) for o in after]
    paired += [(obj, None) for obj in before if _key(obj) not in new_keys]
    return [_object_diff(old, new) for old, new in paired]


def _object_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> ObjectDiff:
    kind, namespace, name = _key(new or old or {})
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    else:
        status = "unchanged" if old == new else "changed"
    diff = line_diff(dump_yaml(old) if old else "", dump_yaml(new) if new else "")
    return ObjectDiff(kind, namespace, name, status, diff)


def _key(obj: dict[str, Any]) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", "")))
