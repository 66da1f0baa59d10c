"""The review's plan on one cluster: a server-side dry run against its live state, cached by content.

Planning calls the cluster (one dry-run request per object), so it is never part of the review
page's own request: the page fetches it from its own URL, bounded by the cluster transport's
timeouts, and a dead or refusing cluster comes back as an error with the cluster layer's code,
not as a failed page. A plan is cached in Django's cache under (cluster identity, revision hash,
gateway, target): the key names the content, so every replica may keep its own copy; "refresh"
plans again and replaces it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _
from pydantic import ValidationError

from policies.cluster.diff import Plan, PlannedObject, plan_changes
from policies.cluster.discovery import Target, capabilities
from policies.cluster.errors import ClusterError
from policies.cluster.records import connect_cluster
from policies.cluster.targets import desired_state
from policies.clusters import CHECK_RETRY, mesh_fingerprint
from policies.core.expansion import ExpansionError
from policies.core.gateway import GatewayDescription
from policies.core.model import EgressPolicy as PolicyModel
from policies.models import ApplyRecord, Cluster, Review
from policies.review_comparison import ReportUnavailable
from policies.review_live import live_reachability
from policies.services import translation_settings

TARGETS = ("asm", "istio")
LONG_VALUE = 120  # NB: characters of JSON past which a page folds a field's values
PLAN_CACHE_SECONDS = 600
LIVE = "_live"  # NB: cached as the core's object (language-independent), rendered per request


@dataclass(frozen=True)
class PlanTarget:
    """The target a plan uses and why: ``chosen`` on the page, ``deployed`` (the policy's last apply on the cluster
    used it) or ``discovered`` (nothing applied there yet: asm where the cluster serves our CRD, else istio)."""

    target: Target | None
    source: str
    applied_at: datetime | None = None


def with_last_target(clusters: QuerySet[Cluster], policy_id: int) -> QuerySet[Cluster]:
    """``clusters`` annotated with the target and time of the policy's last successful apply on each (same query).

    Every apply leaves an apply record with its target (the CLI's and a review's apply job alike), so the records
    say how the policy is deployed on each cluster.
    """
    applies = ApplyRecord.objects.filter(
        cluster=OuterRef("pk"), policy_id=policy_id, action=ApplyRecord.Action.APPLY, succeeded=True
    ).exclude(target="")
    newest = applies.order_by("-created_at", "-pk")
    return clusters.annotate(
        last_target=Subquery(newest.values("target")[:1]), last_applied_at=Subquery(newest.values("created_at")[:1])
    )


def plan_target(cluster: Cluster, policy_id: int, requested: Target | None) -> PlanTarget:
    """The target to plan with: the one asked for, else the one the policy is deployed with on ``cluster``.

    NB: "automatic" once meant the cluster's preference alone, so a cluster serving our CRD was planned as asm even
    where the policy runs as istio objects: the plan then showed creating the CR and pruning every live object.
    A ``cluster`` from ``with_last_target`` costs no query; any other, one.
    """
    if requested:
        return PlanTarget(requested, "chosen")
    if not hasattr(cluster, "last_target"):
        cluster = with_last_target(Cluster.objects.filter(pk=cluster.pk), policy_id).first() or cluster
    deployed = getattr(cluster, "last_target", None)
    if deployed in TARGETS:
        return PlanTarget(cast(Target, deployed), "deployed", getattr(cluster, "last_applied_at", None))
    return PlanTarget(None, "discovered")


def plan_cache_key(identity: str, revision_hash: str, gateway: GatewayDescription, target: str, mesh: str = "") -> str:
    """The cache key of a plan: what it was computed from, never a credential (identity is secret-free).

    ``mesh`` is the cluster's ``mesh_fingerprint``: its live reachability is simulated in that mode and Sidecars.
    """
    gateway_hash = hashlib.sha256(gateway.model_dump_json().encode()).hexdigest()[:16]
    raw = f"{identity}|{revision_hash}|{gateway_hash}|{target or 'auto'}|{mesh}"
    return "review-plan:" + hashlib.sha256(raw.encode()).hexdigest()


def review_plan(
    review: Review, cluster: Cluster, *, target: Target | None = None, refresh: bool = False
) -> dict[str, Any]:
    """The plan of ``review``'s revision on ``cluster`` as JSON-ready data, from the cache unless ``refresh``.

    Without ``target``, the policy's target on the cluster (``plan_target``): the page and the API plan alike.
    Never raises for a cluster or expansion problem: the answer then carries ``error`` {code, message}
    (and is not cached, so the next look tries again).
    """
    target = plan_target(cluster, review.policy_id, target).target
    gateway = review.policy.gateway.describe()
    try:
        # NB: someone waits on this answer (a page's plan panel or the diff API): the connection check's short
        # timeouts, not the apply path's 4 x (5 + 30) s, which held a web thread ~2 min on a hung TLS endpoint.
        api = connect_cluster(cluster, retry=CHECK_RETRY)
        revision_hash, mesh = review.revision.content_hash, mesh_fingerprint(cluster)
        key = plan_cache_key(api.identity, revision_hash, gateway, target or "", mesh)
        cached = None if refresh else cache.get(key)
        if cached is not None:
            return _public(cached, cached=True)
        caps = capabilities(api, refresh=refresh)
        policy = PolicyModel.model_validate(review.revision.document)
        state = desired_state(policy, caps, target=target, gateway=gateway, settings=translation_settings())
        plan = plan_changes(api, desired=state.objects, scope=state.scope, caps=caps)
    except ClusterError as exc:
        return _failed(cluster, target, exc.code, exc.message)
    except ExpansionError as exc:
        return _failed(cluster, target, exc.code, exc.message)
    except ValidationError as exc:  # NB: a stored revision changed behind the models' back
        return _failed(cluster, target, ReportUnavailable.code, str(exc.errors(include_url=False)[0]["msg"]))
    data = {
        **plan_json(plan, cluster=cluster, target=state.target),
        LIVE: live_reachability(review, cluster, plan, state, gateway),
    }
    cache.set(key, data, timeout=getattr(settings, "EGRESS_PLAN_CACHE_SECONDS", PLAN_CACHE_SECONDS))
    return _public(data, cached=False)


def _public(data: dict[str, Any], *, cached: bool) -> dict[str, Any]:
    """The plan's JSON: the live reachability change rendered in the request's language."""
    change = data.get(LIVE)
    public = {key: value for key, value in data.items() if key != LIVE}
    return {**public, "liveReachability": change.as_dict(_) if change is not None else None, "cached": cached}


def _failed(cluster: Cluster, target: str | None, code: str, message: str) -> dict[str, Any]:
    return {
        "cluster": cluster.name,
        "target": target,
        "error": {"code": code, "message": message},
        "hint": _("The rest of the review does not depend on the cluster; try again or pick another cluster."),
    }


def plan_json(plan: Plan, *, cluster: Cluster, target: str) -> dict[str, Any]:
    """The plan's contract: cluster, target, plannedAt, summary counts, and every object with its changes."""
    summary = plan.summary
    return {
        "cluster": cluster.name,
        "target": target,
        "plannedAt": timezone.now().isoformat(),
        "summary": {
            "create": summary.create,
            "change": summary.change,
            "prune": summary.prune,
            "unchanged": summary.unchanged,
            "failed": summary.failed,
        },
        "objects": [_object_json(item) for item in plan.objects],
        "error": None,
    }


def _object_json(item: PlannedObject) -> dict[str, Any]:
    # NB: a prune's "changes" are the whole object going away; its YAML says that better than a field list.
    shown = item.changes if item.action == "change" and item.error is None else []
    return {
        "kind": item.ref.kind,
        "namespace": item.ref.namespace,
        "name": item.ref.name,
        "action": "failed" if item.error else item.action,
        "error": {"code": item.error.code, "message": item.error.message} if item.error else None,
        "changes": [{"operation": c.operation, "path": c.dotted_path, "old": c.old, "new": c.new} for c in shown],
    }


def plan_rows(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's objects for a page: each field change's values as compact JSON, ``long`` when worth folding."""
    return [{**item, "changes": [_shown_change(c) for c in item["changes"]]} for item in plan.get("objects") or []]


def _shown_change(change: dict[str, Any]) -> dict[str, Any]:
    shown = {side: json.dumps(change[side], ensure_ascii=False, separators=(", ", ": ")) for side in ("old", "new")}
    return {**change, **shown, "long": max(len(text) for text in shown.values()) > LONG_VALUE}


def cached_plans(review: Review, clusters: list[Cluster]) -> list[dict[str, Any]]:
    """The plans of ``review`` already in the cache, per cluster and target: never a cluster request.

    For pages that must not wait on a cluster (the Django admin); a cluster whose kubeconfig cannot be
    read has no cached plan.
    """
    gateway, found = review.policy.gateway.describe(), []
    for cluster in clusters:
        try:
            identity = connect_cluster(cluster).identity
        except ClusterError:
            continue
        mesh = mesh_fingerprint(cluster)
        keys = [plan_cache_key(identity, review.revision.content_hash, gateway, t, mesh) for t in ("", *TARGETS)]
        found += [_public(plan, cached=True) for plan in cache.get_many(keys).values() if plan]
    return found
