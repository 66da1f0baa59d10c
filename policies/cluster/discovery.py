"""What a cluster serves, discovered once and cached per cluster.

The same policy becomes different requests on different clusters: Istio >= 1.22 serves
``networking.istio.io/v1``, older meshes only ``v1beta1``; an ASM cluster serves our
``istio.alibabacloud.com`` CRD and expands the policy itself. Discovery answers those questions
with at most four GETs (``/apis``, then at once one resource list per group we use) and keeps the answer
for a few minutes, so apply, diff and drift pay for it once and then send only object requests.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Literal

from policies.cluster.concurrency import REQUESTS_IN_FLIGHT, map_in_order
from policies.cluster.errors import crd_missing
from policies.cluster.interface import ApiGroup, ClusterApi, ResourceType

NETWORKING = "networking.istio.io"
SECURITY = "security.istio.io"
ASM = "istio.alibabacloud.com"
VERSION_PREFERENCE = ("v1", "v1beta1")
CACHE_SECONDS = 300.0

Target = Literal["asm", "istio"]
IstioVersion = Literal["v1", "v1beta1"]

PLURALS = {
    "Gateway": "gateways",
    "ServiceEntry": "serviceentries",
    "DestinationRule": "destinationrules",
    "VirtualService": "virtualservices",
    "AuthorizationPolicy": "authorizationpolicies",
    "ASMEgressTrafficPolicy": "asmegresstrafficpolicies",
}
GROUP_OF_KIND = {
    "Gateway": NETWORKING,
    "ServiceEntry": NETWORKING,
    "DestinationRule": NETWORKING,
    "VirtualService": NETWORKING,
    "AuthorizationPolicy": SECURITY,
    "ASMEgressTrafficPolicy": ASM,
}


@dataclass(frozen=True)
class Capabilities:
    """The API versions and resources of one cluster that matter to the console."""

    served: dict[str, tuple[str, ...]]
    resources: dict[tuple[str, str], ResourceType] = field(default_factory=dict)

    @property
    def has_asm(self) -> bool:
        """True when the ASMEgressTrafficPolicy CRD is served."""
        return bool(self.served.get(ASM))

    @property
    def istio_version(self) -> IstioVersion | None:
        """The newest Istio API version served by both networking and (when present) security."""
        networking = _best(self.served.get(NETWORKING, ()))
        security = _best(self.served.get(SECURITY, ()))
        if networking is None:
            return None
        return "v1beta1" if "v1beta1" in (networking, security) else "v1"

    def pick_target(self, requested: Target | None) -> Target:
        """The requested target, or ``asm`` when our CRD is served and ``istio`` otherwise."""
        return requested or ("asm" if self.has_asm else "istio")

    def resource_for(self, api_version: str, kind: str) -> ResourceType:
        """The resource to send an object of this apiVersion/kind to; CrdMissing when not served."""
        found = self.resources.get((api_version, kind))
        if found is None:
            group = api_version.rpartition("/")[0]
            raise crd_missing(f"{PLURALS.get(kind, kind.lower() + 's')}.{group}")
        return found

    def managed_resources(self) -> list[ResourceType]:
        """One served resource per kind the console may have created (what prune and delete list)."""
        chosen: dict[str, ResourceType] = {}
        for resource in self.resources.values():
            if resource.kind in PLURALS and (resource.kind not in chosen or resource.version == "v1"):
                chosen[resource.kind] = resource
        return [chosen[kind] for kind in PLURALS if kind in chosen]


def _best(versions: tuple[str, ...]) -> str | None:
    return next((v for v in VERSION_PREFERENCE if v in versions), None)


def discover_capabilities(api: ClusterApi) -> Capabilities:
    """Ask the server (uncached) which of our groups, versions and kinds it serves."""
    groups = {g.name: g for g in api.api_groups() if g.name in (NETWORKING, SECURITY, ASM)}
    served = {name: tuple(v for v in group.versions if v in VERSION_PREFERENCE) for name, group in groups.items()}
    # NB: the groups' resource lists are independent: asked at once, discovery costs two round trips, not four.
    listed = map_in_order(
        lambda name: _resources_of(api, groups[name], served[name]), list(served), concurrency=REQUESTS_IN_FLIGHT
    )
    resources = {key: resource for found in listed for key, resource in found.items()}
    return Capabilities(served=served, resources=resources)


def _resources_of(api: ClusterApi, group: ApiGroup, versions: tuple[str, ...]) -> dict[tuple[str, str], ResourceType]:
    best = _best(versions)
    if best is None:
        return {}
    listed = [r for r in api.resources(group=group.name, version=best) if r.kind in PLURALS]
    # NB: every version of a CRD has the same kinds and plurals, so one list serves all versions.
    return {
        (f"{group.name}/{v}", r.kind): ResourceType(group.name, v, r.kind, r.plural, r.namespaced)
        for r in listed
        for v in versions
    }


class DiscoveryCache:
    """Capabilities per cluster identity, kept for ``ttl`` seconds (thread-safe)."""

    def __init__(self, ttl: float = CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Capabilities]] = {}
        self._lock = threading.Lock()

    def get(self, api: ClusterApi, *, refresh: bool = False) -> Capabilities:
        """Cached capabilities of ``api``'s cluster, discovering them when absent, stale or refreshed."""
        with self._lock:
            entry = self._entries.get(api.identity)
        if entry is not None and not refresh and time.monotonic() - entry[0] < self.ttl:
            return entry[1]
        capabilities = discover_capabilities(api)
        with self._lock:
            self._entries[api.identity] = (time.monotonic(), capabilities)
        return capabilities

    def forget(self, api: ClusterApi) -> None:
        """Drop the cached answer for ``api``'s cluster (after installing or removing CRDs)."""
        with self._lock:
            self._entries.pop(api.identity, None)


DISCOVERY = DiscoveryCache()


def capabilities(api: ClusterApi, *, refresh: bool = False) -> Capabilities:
    """The cluster's capabilities from the process-wide cache."""
    return DISCOVERY.get(api, refresh=refresh)
