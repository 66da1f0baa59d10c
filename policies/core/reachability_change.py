"""Which requests a policy change lets through or stops: the reviewer's first question.

An object diff says what Istio configuration changes; it does not say who can now reach what.
This module answers that by simulation, not by reading rules: both revisions are expanded into
Istio objects and each becomes one simulator mesh (checked against Istio's own code in
``tests/oracle``), then every probe request is sent through both meshes and the pairs whose
outcome (status, upstream request) differs are reported, newly allowed first.

The probes come from both revisions. Sources: each ``from`` item (namespace + workload labels),
a workload no selector picks in each listed namespace, and one workload of a namespace no rule
lists. URLs: every host of every to-entry on its port (and on its ``httpsUpgrade`` port), with
the scheme its protocol implies and the other scheme too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from policies.core.expansion import expand_policy
from policies.core.gateway import HTTP_FAMILY, GatewayDescription, TranslationSettings
from policies.core.gcpause import paused_gc
from policies.core.i18n import Translate, _, english
from policies.core.model import EgressPolicy
from policies.core.simulator import Mesh, Request, SimulationInputError, SimulationResult, build_mesh, parse_url
from policies.core.simulator.authz import ROOT_NAMESPACE
from policies.core.simulator.request import DEFAULT_PORTS
from policies.core.simulator.result import Text, text

SourceRole = Literal["selected", "unselected", "unlisted"]
Direction = Literal["allowed", "blocked", "changed"]
DIRECTION_ORDER: dict[Direction, int] = {"allowed": 0, "blocked": 1, "changed": 2}
UNLISTED_NAMESPACE = "unlisted-namespace"


@dataclass(frozen=True)
class ProbeSource:
    """A client workload the change is probed from.

    Attributes:
        namespace: Its namespace.
        labels: Its labels (empty: a workload no workload selector picks).
        role: ``selected`` (a ``from`` item names it, or its whole namespace), ``unselected``
            (a listed namespace, but no selector picks it) or ``unlisted`` (a namespace no rule lists).
    """

    namespace: str
    labels: dict[str, str] = field(default_factory=dict)
    role: SourceRole = "selected"

    @property
    def label(self) -> str:
        """``team-b/app=web`` (``team-b/*`` for a workload without labels)."""
        pairs = ",".join(f"{key}={value}" for key, value in sorted(self.labels.items()))
        return f"{self.namespace}/{pairs or '*'}"

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: namespace, labels, role, label."""
        return {"namespace": self.namespace, "labels": dict(self.labels), "role": self.role, "label": self.label}


@dataclass(frozen=True)
class ProbeOutcome:
    """What a probe request gets in one revision: status (an HTTP status or ``"reset"``), upstream, why."""

    status: int | str
    upstream: str | None
    reason: Text

    @classmethod
    def of(cls, result: SimulationResult) -> ProbeOutcome:
        """The parts of a simulation result that define an outcome, plus its reason."""
        return cls(result.status, result.upstream, result.reason_text)

    @property
    def reaches(self) -> bool:
        """The external server receives the request."""
        return self.upstream is not None

    @property
    def key(self) -> tuple[int | str, str | None]:
        """What two outcomes must share to count as the same (the reason may differ)."""
        return (self.status, self.upstream)

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON contract: status, upstream, reason."""
        return {"status": self.status, "upstream": self.upstream, "reason": self.reason.render(translate)}


@dataclass(frozen=True)
class ReachabilityDelta:
    """One (source, URL) pair whose outcome differs between the old and the new revision.

    ``direction`` is ``allowed`` (the external server now receives the request and did not
    before), ``blocked`` (the reverse) or ``changed`` (still reaching or still not, but with
    another status or upstream, e.g. an httpsUpgrade turned on).
    """

    source: ProbeSource
    url: str
    old: ProbeOutcome
    new: ProbeOutcome

    @property
    def direction(self) -> Direction:
        """Newly allowed, newly blocked, or changed otherwise."""
        if self.new.reaches != self.old.reaches:
            return "allowed" if self.new.reaches else "blocked"
        return "changed"

    @property
    def summary(self) -> Text:
        """``team-b/app=web → http://example.com/: 502 → 200``."""
        return text(
            _("{source} → {url}: {old} → {new}"),
            source=self.source.label,
            url=self.url,
            old=self.old.status,
            new=self.new.status,
        )

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON contract: source, url, direction, old, new, summary."""
        return {
            "source": self.source.as_dict(),
            "url": self.url,
            "direction": self.direction,
            "old": self.old.as_dict(translate),
            "new": self.new.as_dict(translate),
            "summary": self.summary.render(translate),
        }


@dataclass(frozen=True)
class ReachabilityChange:
    """Every probe pair whose outcome changes, newly allowed first, and how many pairs were probed."""

    deltas: list[ReachabilityDelta]
    sources: list[ProbeSource]
    urls: list[str]

    @property
    def probed(self) -> int:
        """Number of (source, URL) pairs simulated in each revision."""
        return len(self.sources) * len(self.urls)

    def counts(self) -> dict[Direction, int]:
        """How many pairs are newly allowed, newly blocked and changed otherwise."""
        counts: dict[Direction, int] = {"allowed": 0, "blocked": 0, "changed": 0}
        for delta in self.deltas:
            counts[delta.direction] += 1
        return counts

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON contract: counts, probed (sources, urls, pairs) and the changes."""
        return {
            "counts": self.counts(),
            "probed": {"sources": len(self.sources), "urls": len(self.urls), "pairs": self.probed},
            "changes": [delta.as_dict(translate) for delta in self.deltas],
        }


def reachability_change(
    old: EgressPolicy | None,
    new: EgressPolicy | None,
    gateway: GatewayDescription,
    settings: TranslationSettings | None = None,
    *,
    mesh_mode: str = "REGISTRY_ONLY",
) -> ReachabilityChange:
    """Every (source, URL) pair drawn from both revisions whose simulated outcome changes.

    Args:
        old: The revision in force (e.g. the last one applied); None is the empty policy.
        new: The proposed revision; None is the empty policy (a deletion).
        gateway: The egress gateway both revisions use.
        settings: Translation settings of the expansion; defaults when omitted.
        mesh_mode: The cluster's ``outboundTrafficPolicy.mode``, REGISTRY_ONLY or ALLOW_ANY.

    Returns:
        The changed pairs, newly allowed first, then newly blocked, then otherwise changed; in
        each group by source, then URL, in the order the revisions name them.

    Raises:
        ExpansionError: a revision cannot be expanded (it has validation errors).
        SimulationInputError: ``mesh_mode`` is unknown.
    """
    settings = settings or TranslationSettings()
    policies = [policy for policy in (old, new) if policy is not None]
    before, after = (expand_policy(p, gateway, settings) if p is not None else [] for p in (old, new))
    probes = Probes(probe_sources(policies, settings), probe_urls(policies))
    return objects_reachability_change(before, after, probes, gateway, settings, mesh_mode=mesh_mode)


@dataclass(frozen=True)
class Probes:
    """The probe grid: every source against every URL."""

    sources: list[ProbeSource]
    urls: list[str]


def objects_reachability_change(
    old_objects: list[dict[str, Any]],
    new_objects: list[dict[str, Any]],
    probes: Probes,
    gateway: GatewayDescription,
    settings: TranslationSettings | None = None,
    *,
    mesh_mode: str = "REGISTRY_ONLY",
    extra_objects: Sequence[dict[str, Any]] = (),
) -> ReachabilityChange:
    """The probe pairs whose simulated outcome differs between two sets of Istio objects.

    For comparing with what a cluster really holds (its live Istio objects) rather than with
    a policy; ``reachability_change`` is this over the expansions of two revisions.

    Args:
        old_objects: Istio objects in force (e.g. read from the cluster), as plain dicts.
        new_objects: Istio objects proposed.
        probes: Sources and URLs to try (``probe_sources`` and ``probe_urls`` of the policies).
        gateway: The egress gateway.
        settings: Gateway namespace, Service host and pod selector, as used for the expansion.
        mesh_mode: The cluster's ``outboundTrafficPolicy.mode``, REGISTRY_ONLY or ALLOW_ANY.
        extra_objects: Istio objects in force on both sides (a cluster's Sidecars), simulated with each.

    Returns:
        The changed pairs, ordered as ``reachability_change`` orders them.

    Raises:
        SimulationInputError: ``mesh_mode`` is unknown or an object cannot be read.
    """
    sources, urls = probes.sources, probes.urls
    if old_objects == new_objects:  # NB: the same Istio objects answer every request alike.
        return ReachabilityChange([], sources, urls)
    old_mesh, new_mesh = (
        build_mesh([*objects, *extra_objects], mesh_mode=mesh_mode, gateway=gateway, settings=settings)
        for objects in (old_objects, new_objects)
    )
    with paused_gc():  # NB: tens of thousands of results stay alive until compared; see gcpause
        found = sorted(
            _deltas(old_mesh, new_mesh, sources, urls), key=lambda f: (DIRECTION_ORDER[f[1].direction], f[0])
        )
    return ReachabilityChange([delta for _position, delta in found], sources, urls)


def _deltas(
    old: Mesh, new: Mesh, sources: list[ProbeSource], urls: list[str]
) -> Iterator[tuple[int, ReachabilityDelta]]:
    """Each differing pair with its position in the probe grid (source-major)."""
    requests = [Request(source.namespace, source.labels, url) for source in sources for url in urls]
    for position, before, after in old.differences(new, requests):
        source, url = sources[position // len(urls)], urls[position % len(urls)]
        yield position, ReachabilityDelta(source, url, ProbeOutcome.of(before), ProbeOutcome.of(after))


def probe_sources(policies: Sequence[EgressPolicy], settings: TranslationSettings | None = None) -> list[ProbeSource]:
    """The probe workloads of ``policies``: each ``from`` item, an unselected workload per listed
    namespace, and one workload of a namespace none lists, without repeats, in document order."""
    selected: dict[tuple[str, tuple[tuple[str, str], ...]], ProbeSource] = {}
    for policy in policies:
        for rule in (policy.spec.egressRules if policy.spec else None) or []:
            for item in rule.from_ or []:
                labels = dict(item.workloadSelector or {})
                key = (item.namespace or "", tuple(sorted(labels.items())))
                selected.setdefault(key, ProbeSource(item.namespace or "", labels))
    namespaces = list(dict.fromkeys(source.namespace for source in selected.values()))
    others = [ProbeSource(ns, {}, "unselected") for ns in namespaces if (ns, ()) not in selected]
    homes = {policy.metadata.namespace for policy in policies if policy.metadata and policy.metadata.namespace}
    # NB: the unlisted workload must not live where the objects do: "." exports would reach it there.
    reserved = {*namespaces, *homes, ROOT_NAMESPACE, (settings or TranslationSettings()).gateway_namespace}
    return [*selected.values(), *others, ProbeSource(_unlisted_namespace(reserved), {}, "unlisted")]


def _unlisted_namespace(reserved: set[str]) -> str:
    name, suffix = UNLISTED_NAMESPACE, 1
    while name in reserved:
        suffix += 1
        name = f"{UNLISTED_NAMESPACE}-{suffix}"
    return name


def probe_urls(policies: Iterable[EgressPolicy]) -> list[str]:
    """The probe URLs of ``policies``: every host × port of every to-entry (its port and its
    httpsUpgrade port), in the scheme its protocol implies, then the other one; no repeats."""
    urls: dict[str, None] = {}
    for policy in policies:
        for _r, _t, _rule, to in policy.iter_targets():
            if to.port is None or to.port.number is None:
                continue  # NB: a valid policy has a port on every target; this only narrows the type.
            schemes = ("http", "https") if to.port.protocol in HTTP_FAMILY else ("https", "http")
            ports = [(to.port.number, schemes)]
            if to.httpsUpgrade and to.httpsUpgrade.enabled and to.httpsUpgrade.port:
                ports.append((to.httpsUpgrade.port, ("https", "http")))
            for host in to.hosts or []:
                for number, pair in ports:
                    urls.update(dict.fromkeys(url for s in pair if (url := _url(s, host, number)) is not None))
    return list(urls)


def _url(scheme: str, host: str, port: int) -> str | None:
    """``scheme://host[:port]/``, or None for a host the simulator cannot request (a wildcard)."""
    url = f"{scheme}://{host}{'' if DEFAULT_PORTS[scheme] == port else f':{port}'}/"
    try:
        parse_url(url)
    except SimulationInputError:
        return None
    return url
