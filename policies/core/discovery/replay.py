"""What a candidate policy would do to the traffic really observed: "what would this break?".

Every observed external flow becomes one simulator request (its source workload, and a URL
built from its destination: ``flow_url``) sent through the mesh the candidate expands to, the
same mesh ``egress simulate`` builds. Comparing the simulated outcome with what the access
log showed sorts each flow into:

- ``broken``: it reached its destination today, and the candidate stops it (502 / reset / 403);
- ``newly_allowed``: it did not reach its destination today, and the candidate lets it through;
- ``kept``: it reaches its destination today and under the candidate;
- ``still_blocked``: it reaches its destination neither today nor under the candidate.

Usage::

    report = replay_flows(flows, candidate_policy, gateway, settings)
    report.counts()        # {"broken": 1, "newly_allowed": 0, "kept": 12, "still_blocked": 3}
    report.broken          # the flows a CI job should fail on
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from policies.core.discovery.flows import Flow
from policies.core.discovery.sources import Workload
from policies.core.expansion import expand_policy
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.gcpause import paused_gc
from policies.core.i18n import Translate, english
from policies.core.model import EgressPolicy
from policies.core.simulator import Mesh, Request, build_mesh
from policies.core.simulator.request import DEFAULT_PORTS
from policies.core.simulator.result import Text

Verdict = Literal["broken", "newly_allowed", "kept", "still_blocked"]
VERDICT_ORDER: dict[Verdict, int] = {"broken": 0, "newly_allowed": 1, "kept": 2, "still_blocked": 3}


class ReplayedFlow(NamedTuple):
    """One observed flow and what the candidate does to it (a named tuple: one is built per flow).

    Attributes:
        flow: The observed flow (``flow.allowed_today``: what the log showed).
        url: The URL the flow was simulated as (``flow_url``).
        status: Simulated status under the candidate: an HTTP status or ``"reset"``.
        upstream: What the external server receives under the candidate, or None.
        reason: The simulator's one-sentence explanation.
    """

    flow: Flow
    url: str
    status: int | str
    upstream: str | None
    reason: Text

    @property
    def allowed(self) -> bool:
        """The candidate lets the flow reach its destination."""
        return self.upstream is not None

    @property
    def verdict(self) -> Verdict:
        """broken, newly_allowed, kept or still_blocked (see the module docstring)."""
        if self.flow.allowed_today:
            return "kept" if self.allowed else "broken"
        return "newly_allowed" if self.allowed else "still_blocked"

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON contract: flow, url, verdict, status, upstream, reason."""
        return {
            "flow": self.flow.as_dict(),
            "url": self.url,
            "verdict": self.verdict,
            "status": self.status,
            "upstream": self.upstream,
            "reason": self.reason.render(translate),
        }


@dataclass(frozen=True)
class ReplayReport:
    """Every replayed flow, broken first, then newly allowed, kept and still blocked."""

    results: list[ReplayedFlow]

    def counts(self) -> dict[Verdict, int]:
        """Flows per verdict (every verdict present, zero included)."""
        counts: dict[Verdict, int] = dict.fromkeys(VERDICT_ORDER, 0)
        for result in self.results:
            counts[result.verdict] += 1
        return counts

    @property
    def broken(self) -> list[ReplayedFlow]:
        """Flows that reach their destination today and would be stopped."""
        return [result for result in self.results if result.verdict == "broken"]

    @property
    def newly_allowed(self) -> list[ReplayedFlow]:
        """Flows stopped today that the candidate would let through."""
        return [result for result in self.results if result.verdict == "newly_allowed"]

    def as_dict(self, translate: Translate = english, *, changes_only: bool = False) -> dict[str, Any]:
        """JSON contract: counts, flows (all, or only broken and newly allowed with ``changes_only``)."""
        shown = [r for r in self.results if not changes_only or r.verdict in ("broken", "newly_allowed")]
        return {"counts": self.counts(), "flows": [result.as_dict(translate) for result in shown]}


def flow_url(flow: Flow) -> str:
    """The URL a flow is simulated as: ``http://host[:port]/`` for HTTP, ``https://host[:port]/`` else.

    NB: a plain TCP flow is sent as ``https://IP:port/`` too: like TLS it never reaches an HTTP
    listener, and the simulator then matches it by port and address as Envoy's TCP chains do.
    """
    key = flow.key
    scheme = "http" if key.protocol in ("HTTP", "HTTP2") else "https"
    suffix = "" if DEFAULT_PORTS[scheme] == key.port else f":{key.port}"
    return f"{scheme}://{key.host}{suffix}/"


def flow_request(flow: Flow) -> Request:
    """The simulator request of a flow: its source workload sending GET ``flow_url(flow)``."""
    source = flow.key.source
    return Request(source.namespace, source.label_map, flow_url(flow))


def candidate_mesh(
    candidate: EgressPolicy | None,
    gateway: GatewayDescription,
    settings: TranslationSettings | None = None,
    *,
    mesh_mode: str = "REGISTRY_ONLY",
    extra_objects: Sequence[dict[str, Any]] = (),
) -> Mesh:
    """The simulator mesh of a candidate policy (None: no policy at all), as ``egress simulate`` builds it.

    Raises:
        ExpansionError: the candidate has validation errors.
        SimulationInputError: an unknown mesh mode or an unreadable extra object.
    """
    settings = settings or TranslationSettings()
    objects = expand_policy(candidate, gateway, settings) if candidate is not None else []
    return build_mesh([*objects, *extra_objects], mesh_mode=mesh_mode, gateway=gateway, settings=settings)


def replay_flows(
    flows: Iterable[Flow],
    candidate: EgressPolicy | None,
    gateway: GatewayDescription,
    settings: TranslationSettings | None = None,
    *,
    mesh_mode: str = "REGISTRY_ONLY",
) -> ReplayReport:
    """Every flow simulated under ``candidate`` and compared with what was observed.

    Args:
        flows: Observed external flows (``FlowAggregator.flows()``).
        candidate: The policy to try (a draft, a revision, a review's change); None is no policy.
        gateway: The egress gateway the candidate configures.
        settings: Translation settings of the expansion; defaults when omitted.
        mesh_mode: The cluster's ``outboundTrafficPolicy.mode`` under the candidate.

    Returns:
        The report, broken flows first.

    Raises:
        ExpansionError: the candidate has validation errors.
    """
    return replay_on_mesh(flows, candidate_mesh(candidate, gateway, settings, mesh_mode=mesh_mode))


def replay_on_mesh(flows: Iterable[Flow], mesh: Mesh) -> ReplayReport:
    """Every flow simulated on an already built mesh (e.g. one that also holds live Istio objects)."""
    labels = _LabelMaps()
    flows = list(flows)
    urls = [flow_url(flow) for flow in flows]
    requests = [Request(f.key.source.namespace, labels[f.key.source], url) for f, url in zip(flows, urls, strict=True)]
    # NB: every result is kept until the end, so a collection mid-way frees nothing (and the
    # collector's full passes over 100,000s of new objects cost as much as the simulation).
    with paused_gc():
        simulated = mesh.simulate_many(requests)
        results = [
            ReplayedFlow(flow, url, result.status, result.upstream, result.reason_text)
            for flow, url, result in zip(flows, urls, simulated, strict=True)
        ]
    results.sort(key=lambda result: VERDICT_ORDER[result.verdict])  # NB: stable: flow order within a verdict.
    return ReplayReport(results)


class _LabelMaps(dict[Workload, dict[str, str]]):
    """One label dict per workload, shared by its requests (the simulator only reads it)."""

    def __missing__(self, workload: Workload) -> dict[str, str]:
        found = self[workload] = workload.label_map
        return found
