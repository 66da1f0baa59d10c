"""How two policy documents differ, computed once and kept in Django's cache: what the change means and its diffs.

Comparing a 50-target policy with its predecessor expands both into Istio objects, simulates every
probe request through both, and writes some 300 objects as YAML: several hundred milliseconds.
The result depends on nothing but its inputs (both documents, the gateway, the translation
settings, the mesh mode and the cluster's Sidecars), so it is cached under a hash of them: it never goes stale and every
replica may keep its own copy. It is kept as two entries: the *meaning* (reachability change and
semantic summary, small) and the *diffs* (thousands of lines), so a reader that needs only the
first, or has the diffs' rendering cached, never loads the second.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any, cast

from django.conf import settings as django_settings
from django.core.cache import cache
from django.utils.translation import gettext as _
from pydantic import ValidationError

from policies.core.document import dump_policy
from policies.core.expansion import ExpansionError, expand_policy
from policies.core.gateway import GatewayDescription
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
from policies.services import ServiceError, translation_settings

CACHE_SECONDS = 3600
VERSION = 1  # NB: bump when a cached shape changes, so no replica reads an older one
Document = dict[str, Any]


class ReportUnavailable(ServiceError):
    """A revision of the review cannot be expanded (e.g. its gateway port was removed since)."""

    code = "REVIEW_REPORT_UNAVAILABLE"
    status = 409


@dataclass(frozen=True)
class ComparisonInputs:
    """Everything a comparison depends on: the documents (``old`` None: the empty policy), gateway and mesh mode.

    ``sidecars`` are the cluster's Sidecars, simulated beside both revisions' objects (never diffed).
    """

    old: Document | None
    new: Document
    gateway: GatewayDescription
    mode: str
    sidecars: tuple[Document, ...] = ()

    @cached_property
    def key(self) -> str:
        """The cache key: a hash of the inputs and the translation settings."""
        settings = translation_settings().model_dump(mode="json")
        parts = [self.old, self.new, self.gateway.model_dump(mode="json"), settings, self.mode, self.sidecars]
        digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()
        return f"review-comparison:{VERSION}:{digest}"


@dataclass(frozen=True)
class Meaning:
    """What the change does: the (source, URL) pairs whose outcome changes, and the summary in sentences."""

    reachability: ReachabilityChange
    summary: list[PolicyChange]


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
        identity = {"kind": self.kind, "namespace": self.namespace, "name": self.name}
        return {**identity, "status": self.status, "diff": self.diff.as_dict()}


@dataclass(frozen=True)
class Diffs:
    """The CR's line diff and each Istio object's, the new objects in apply order, then the removed ones."""

    cr: LineDiff
    objects: list[ObjectDiff]

    def object_counts(self) -> dict[str, int]:
        """How many Istio objects are added, removed, changed and unchanged."""
        counts = {"added": 0, "removed": 0, "changed": 0, "unchanged": 0}
        for item in self.objects:
            counts[item.status] += 1
        return counts

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: cr, istio (per object), istioCounts."""
        return {
            "cr": self.cr.as_dict(),
            "istio": [item.as_dict() for item in self.objects],
            "istioCounts": self.object_counts(),
        }


def comparison_meaning(inputs: ComparisonInputs) -> Meaning:
    """The reachability change and summary, from the cache or computed (with the diffs, cached too)."""
    return cast(Meaning, cache.get(f"{inputs.key}:meaning") or _computed(inputs)[0])


def comparison_diffs(inputs: ComparisonInputs) -> Diffs:
    """The line diffs, from the cache or computed (with the meaning, cached too)."""
    return cast(Diffs, cache.get(f"{inputs.key}:diffs") or _computed(inputs)[1])


def _computed(inputs: ComparisonInputs) -> tuple[Meaning, Diffs]:
    meaning, diffs = compare(inputs)
    timeout = getattr(django_settings, "EGRESS_REPORT_CACHE_SECONDS", CACHE_SECONDS)
    cache.set_many({f"{inputs.key}:meaning": meaning, f"{inputs.key}:diffs": diffs}, timeout=timeout)
    return meaning, diffs


def compare(inputs: ComparisonInputs) -> tuple[Meaning, Diffs]:
    """Expand both documents once, then simulate, summarise and diff them.

    Raises:
        ReportUnavailable: a document cannot be expanded against the gateway as it is now.
    """
    settings, gateway = translation_settings(), inputs.gateway
    try:
        new = PolicyModel.model_validate(inputs.new)
        old = PolicyModel.model_validate(inputs.old) if inputs.old is not None else None
        before = expand_policy(old, gateway, settings) if old else []
        after = expand_policy(new, gateway, settings)
    except ExpansionError as exc:
        raise _unavailable(gateway, exc.message, exc.path) from exc
    except ValidationError as exc:  # NB: a stored revision changed behind the models' back
        raise _unavailable(gateway, str(exc.errors(include_url=False)[0]["msg"]), "revision") from exc
    policies = [p for p in (old, new) if p is not None]
    probes = Probes(probe_sources(policies, settings), probe_urls(policies))
    reachability = objects_reachability_change(
        before, after, probes, gateway, settings, mesh_mode=inputs.mode, extra_objects=inputs.sidecars
    )
    cr_diff = line_diff(dump_policy(old) if old else "", dump_policy(new))
    return Meaning(reachability, policy_changes(old, new)), Diffs(cr_diff, object_diffs(before, after))


def _unavailable(gateway: GatewayDescription, error: str, path: str) -> ReportUnavailable:
    message = _("This revision cannot be expanded against gateway %(gateway)s as it is now: %(error)s")
    return ReportUnavailable(message % {"gateway": gateway.name, "error": error}, path=path)


def object_diffs(before: list[Document], after: list[Document]) -> list[ObjectDiff]:
    """Each Istio object paired by kind, namespace and name: the new ones in apply order, then the removed."""
    old_by_key = {_key(obj): obj for obj in before}
    new_keys = {_key(obj) for obj in after}
    paired: list[tuple[Document | None, Document | None]] = [(old_by_key.get(_key(o)), o) for o in after]
    paired += [(obj, None) for obj in before if _key(obj) not in new_keys]
    return [_object_diff(old, new) for old, new in paired]


def _object_diff(old: Document | None, new: Document | None) -> ObjectDiff:
    kind, namespace, name = _key(new or old or {})
    if old is None:
        status = "added"
    elif new is None:
        status = "removed"
    else:
        status = "unchanged" if old == new else "changed"
    diff = line_diff(dump_yaml(old) if old else "", dump_yaml(new) if new else "")
    return ObjectDiff(kind, namespace, name, status, diff)


def _key(obj: Document) -> tuple[str, str, str]:
    meta = obj.get("metadata") or {}
    return (str(obj.get("kind", "")), str(meta.get("namespace", "")), str(meta.get("name", "")))
