"""``build_mesh`` and ``Mesh.simulate``: the public face of the request simulator.

The simulator reads Istio objects, never the egress policy, so running it over the expansion's
output checks the expansion independently (spec §5).
"""

from __future__ import annotations

from typing import Any

from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.i18n import _
from policies.core.simulator.gateway import GatewayProxy, gateway_identity
from policies.core.simulator.index import Catalog, NamespaceView, read_catalog
from policies.core.simulator.request import Request, SimulationInputError, parse_method, parse_url
from policies.core.simulator.result import SimulationResult, Trace
from policies.core.simulator.sidecar import SidecarWalk
from policies.core.simulator.sidecar_scope import SidecarScope, scope_for

MESH_MODES = ("REGISTRY_ONLY", "ALLOW_ANY")


class Mesh:
    """A mesh of sidecars and one egress gateway configured by a set of Istio objects."""

    def __init__(
        self, catalog: Catalog, mode: str, gateway: GatewayDescription | None, settings: TranslationSettings | None
    ) -> None:
        self.catalog = catalog
        self.mode = mode
        self._views: dict[tuple[str, str | None], NamespaceView] = {}
        self._scopes: dict[tuple[str, tuple[tuple[str, str], ...]], SidecarScope | None] = {}
        identity = gateway_identity(gateway, settings)
        asm_auto = settings is not None and settings.port_default == "asmAuto"
        self.gateway = GatewayProxy(catalog, identity, self.view(identity.namespace), asm_auto=asm_auto)

    def view(self, namespace: str) -> NamespaceView:
        """The (cached) view of the mesh from proxies in ``namespace`` that no Sidecar scopes (gateways)."""
        found = self._views.get((namespace, None))
        if found is None:
            found = self._views[(namespace, None)] = NamespaceView(self.catalog, namespace)
        return found

    def sidecar_view(self, namespace: str, labels: dict[str, str]) -> NamespaceView:
        """The (cached) view of a sidecar: its namespace's exports, narrowed by the Sidecar that applies."""
        if not self.catalog.sidecars:
            return self.view(namespace)
        workload = (namespace, tuple(sorted(labels.items())))
        if workload not in self._scopes:
            self._scopes[workload] = scope_for(self.catalog.sidecars, namespace, labels)
        scope = self._scopes[workload]
        if scope is None:
            return self.view(namespace)
        found = self._views.get((namespace, scope.ref))
        if found is None:
            found = self._views[(namespace, scope.ref)] = NamespaceView(self.catalog, namespace, scope)
        return found

    def simulate(self, request: Request) -> SimulationResult:
        """What ``request`` gets: status, upstream request, body, hops and a one-sentence reason.

        Raises:
            SimulationInputError: the URL or method cannot be read.
        """
        url = parse_url(request.url)
        method = parse_method(request.method) if request.method != "GET" else "GET"
        trace = Trace()
        outcome = SidecarWalk(self, request, url, method, trace).run()
        return trace.result(outcome)


def build_mesh(
    objects: list[dict[str, Any]],
    *,
    mesh_mode: str = "REGISTRY_ONLY",
    gateway: GatewayDescription | None = None,
    settings: TranslationSettings | None = None,
) -> Mesh:
    """Index Istio objects once for fast simulation.

    Args:
        objects: ServiceEntry, VirtualService, DestinationRule, Gateway (networking.istio.io) and
            AuthorizationPolicy (security.istio.io) objects as plain dicts, v1 or v1beta1.
        mesh_mode: The mesh's ``outboundTrafficPolicy.mode``: REGISTRY_ONLY or ALLOW_ANY.
        gateway: The egress gateway (name, Service ports); defaults to ``egressgateway``.
        settings: Gateway namespace, Service host and pod selector, as used for the expansion.

    Returns:
        A ``Mesh`` whose ``simulate`` answers requests with dictionary lookups.

    Raises:
        SimulationInputError: an unknown mesh mode, or an object the simulator cannot read.
    """
    if mesh_mode not in MESH_MODES:
        raise SimulationInputError(
            "EGRESS-SIM08", _("Mesh mode '{mode}' is not one of {modes}."), mode=mesh_mode, modes=", ".join(MESH_MODES)
        )
    return Mesh(read_catalog(objects), mesh_mode, gateway, settings)
