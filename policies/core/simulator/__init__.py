"""Request simulator over Istio objects (spec §5): what a workload's request gets, and why.

Public API:

- ``build_mesh(objects, *, mesh_mode="REGISTRY_ONLY", gateway=None, settings=None) -> Mesh``
- ``Mesh.simulate(Request(...)) -> SimulationResult`` (``as_dict()``: status, upstream, body, hops, reason)
- ``reachability_matrix(mesh, sources, urls, method="GET") -> ReachabilityMatrix``
- ``parse_source("ns:key=value,...")``, ``parse_url(url)``
- ``SimulationInputError`` (stable ``EGRESS-SIM..`` codes)
"""

from policies.core.simulator.matrix import ReachabilityMatrix, Source, reachability_matrix
from policies.core.simulator.mesh import MESH_MODES, Mesh, build_mesh
from policies.core.simulator.request import Request, SimulationInputError, parse_source, parse_url
from policies.core.simulator.result import RBAC_DENIED_BODY, RESET, SimulationResult

__all__ = [
    "MESH_MODES",
    "RBAC_DENIED_BODY",
    "RESET",
    "Mesh",
    "ReachabilityMatrix",
    "Request",
    "SimulationInputError",
    "SimulationResult",
    "Source",
    "build_mesh",
    "parse_source",
    "parse_url",
    "reachability_matrix",
]
