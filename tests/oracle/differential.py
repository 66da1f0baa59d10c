"""Differential testing of the simulator against Istio: one batch, every disagreement listed.

``compare`` runs the same worlds through the project's simulator and through the Istio harness
(pilot's generated Envoy config, walked by ``pilot/pkg/simulation`` plus RBAC) and returns each
request whose status or upstream differs, with both explanations, so a failing test shows all
disagreements at once rather than the first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from policies.core.gateway import GatewayDescription, TranslationSettings, seed_gateway
from policies.core.simulator import Request, build_mesh
from testenv.oracle import GatewaySpec, IstioOracle, OracleRequest, World


@dataclass
class Case:
    """A world for both simulators: objects, gateway, settings, mesh mode and requests."""

    id: str
    objects: list[dict[str, Any]]
    requests: list[OracleRequest]
    gateway: GatewayDescription | None = None
    settings: TranslationSettings = field(default_factory=TranslationSettings)
    mesh_mode: str = "REGISTRY_ONLY"


@dataclass(frozen=True)
class Disagreement:
    case: str
    request: OracleRequest
    ours: tuple[Any, Any]
    istio: tuple[Any, Any]
    our_hops: list[str]
    istio_reason: str

    def __str__(self) -> str:
        r = self.request
        return (
            f"[{self.case}] {r.namespace}:{r.labels} {r.method} {r.url}\n"
            f"    ours : {self.ours}  via {self.our_hops}\n"
            f"    istio: {self.istio}  via {self.istio_reason}"
        )


@dataclass
class Comparison:
    pairs: int
    disagreements: list[Disagreement]
    rejected: dict[str, list[dict[str, Any]]]

    def report(self, limit: int = 25) -> str:
        lines = [str(d) for d in self.disagreements[:limit]]
        more = len(self.disagreements) - limit
        if more > 0:
            lines.append(f"... and {more} more")
        return f"{len(self.disagreements)} of {self.pairs} requests disagree:\n" + "\n".join(lines)


SIMULATOR_FIXTURES = Path(__file__).parents[1] / "unit" / "simulator_fixtures"


def simulator_fixture(name: str) -> str:
    """The text of a hand-written object set of the simulator's unit tests (``scenario-2``, ...)."""
    return (SIMULATOR_FIXTURES / f"{name}.yaml").read_text(encoding="utf-8")


def service_entry(name: str, namespace: str, hosts: str, ports: str, resolution: str = "DNS", extra: str = "") -> str:
    """A hand-written ServiceEntry (flow-style ``hosts`` and ``ports``) followed by a document separator."""
    return f"""
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {{name: {name}, namespace: {namespace}}}
spec:
  hosts: [{hosts}]
  resolution: {resolution}
  location: MESH_EXTERNAL
  ports: [{ports}]
{extra}
---"""


def gateway_spec(gateway: GatewayDescription | None, settings: TranslationSettings) -> GatewaySpec:
    """The harness's view of the gateway the expansion was made for."""
    description = gateway or seed_gateway()
    namespace = settings.gateway_namespace
    labels = settings.gateway_selector or {"istio": description.name}
    ports = tuple((p.number, p.protocol) for p in description.ports)
    return GatewaySpec(description.name, namespace, tuple(sorted(labels.items())), ports)


def compare(oracle: IstioOracle, cases: list[Case]) -> Comparison:
    """Both simulators over every case; the requests where status or upstream differ."""
    worlds = [World(c.id, c.objects, c.requests, gateway_spec(c.gateway, c.settings), c.mesh_mode) for c in cases]
    answers = oracle.run(worlds)
    disagreements: list[Disagreement] = []
    rejected: dict[str, list[dict[str, Any]]] = {}
    pairs = 0
    for case, answer in zip(cases, answers, strict=True):
        if answer["rejected"]:
            rejected[case.id] = answer["rejected"]
        mesh = build_mesh(case.objects, mesh_mode=case.mesh_mode, gateway=case.gateway, settings=case.settings)
        for request, theirs in zip(case.requests, answer["results"], strict=True):
            pairs += 1
            ours = mesh.simulate(Request(request.namespace, request.labels, request.url, request.method))
            mine = (ours.status, ours.upstream)
            istio = (theirs["status"], theirs["upstreamUrl"])
            if mine != istio:
                disagreements.append(Disagreement(case.id, request, mine, istio, ours.hops, theirs["reason"]))
    return Comparison(pairs, disagreements, rejected)


def assert_agree(oracle: IstioOracle, cases: list[Case]) -> Comparison:
    """Istio accepts every object of the cases, and both simulators agree on every request."""
    comparison = compare(oracle, cases)
    assert comparison.rejected == {}, comparison.rejected
    assert comparison.disagreements == [], comparison.report()
    return comparison
