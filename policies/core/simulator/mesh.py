"""``build_mesh`` and ``Mesh.simulate``: the public face of the request simulator.

The simulator reads Istio objects, never the egress policy, so running it over the expansion's
output checks the expansion independently (spec §5).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.i18n import _
from policies.core.simulator.gateway import GatewayProxy, gateway_identity
from policies.core.simulator.index import Catalog, NamespaceView, read_catalog
from policies.core.simulator.request import ParsedUrl, Request, SimulationInputError, parse_method, parse_url
from policies.core.simulator.result import SimulationResult, Trace
from policies.core.simulator.sidecar import SidecarClient, SidecarWalk
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
        client = SidecarClient.of(self, request.source_namespace, request.source_labels)
        walk = self._walk(client, request, parse_url(request.url))
        return walk.trace.result(walk.run())

    def simulate_many(self, requests: Iterable[Request]) -> list[SimulationResult]:
        """``[self.simulate(r) for r in requests]``, reading each URL and each client workload once.

        Raises:
            SimulationInputError: a URL or method cannot be read.
        """
        return [walk.trace.result(walk.run()) for walk in self._walks(requests)]

    def differences(
        self, other: Mesh, requests: Sequence[Request]
    ) -> Iterator[tuple[int, SimulationResult, SimulationResult]]:
        """The requests whose status or upstream differ between this mesh and ``other``: (index, ours, theirs).

        A reachability grid sends every URL from every source, and most requests reach a sidecar
        that knows nothing of their destination in either mesh; such a request ends alike in both
        (the outbound mode and the URL decide it), so it is not followed any further.

        Raises:
            SimulationInputError: a URL or method cannot be read.
        """
        pairs = zip(self._walks(requests), other._walks(requests), strict=True)
        for index, (ours, theirs) in enumerate(pairs):
            our_landing, their_landing = ours.landing(), theirs.landing()
            if our_landing is None and their_landing is None and ours.mode == theirs.mode:
                continue
            mine = ours.trace.result(ours.follow(our_landing))
            yours = theirs.trace.result(theirs.follow(their_landing))
            if (mine.status, mine.upstream) != (yours.status, yours.upstream):
                yield index, mine, yours

    def _walks(self, requests: Iterable[Request]) -> Iterator[SidecarWalk]:
        """A walk per request, ready to run: each URL is parsed and each client's sidecar looked up once."""
        urls: dict[str, ParsedUrl] = {}
        clients: dict[tuple[str, tuple[tuple[str, str], ...]], SidecarClient] = {}
        source: tuple[str, dict[str, str]] | None = None
        for request in requests:
            url = urls.get(request.url) or urls.setdefault(request.url, parse_url(request.url))
            if source is None or (request.source_namespace, request.source_labels) != source:
                source = (request.source_namespace, request.source_labels)
                key = (request.source_namespace, tuple(sorted(request.source_labels.items())))
                client = clients.get(key) or clients.setdefault(key, SidecarClient.of(self, *source))
            yield self._walk(client, request, url)

    def _walk(self, client: SidecarClient, request: Request, url: ParsedUrl) -> SidecarWalk:
        method = parse_method(request.method) if request.method != "GET" else "GET"
        return SidecarWalk(self, client, request, url, method, Trace())


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
