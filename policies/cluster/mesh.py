"""The mesh's outbound traffic mode: does a request to an unregistered host leave the mesh?

An egress policy only restricts anything when the mesh sends requests for hosts it does not
know to a black hole (``REGISTRY_ONLY``); under ``ALLOW_ANY`` (Istio's default) they pass
straight through the sidecar and no ServiceEntry, gateway or authorization rule is consulted.
So the console reads the mode the way istiod does: the ``mesh`` key of the ``istio`` ConfigMap
(``istio-<revision>`` for a revisioned control plane) in the control plane's namespace, with
Istio's default when ``outboundTrafficPolicy.mode`` is absent, and then a Sidecar without a
workload selector in the mesh's root namespace, whose own ``outboundTrafficPolicy`` overrides the
mesh-wide value for every namespace that has no Sidecar of its own.

Only the ``ClusterApi`` verbs get and list are used, so the fake cluster answers the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, cast

from policies.cluster.discovery import NETWORKING, VERSION_PREFERENCE, Capabilities
from policies.cluster.errors import ClusterError, NotFound
from policies.cluster.interface import ClusterApi, Object, ResourceType
from policies.core.yamlio import YamlLoadError, load_one

OutboundMode = Literal["REGISTRY_ONLY", "ALLOW_ANY"]
ModeSource = Literal["sidecar", "mesh-config", "istio-default", "none"]

OUTBOUND_MODES: tuple[OutboundMode, ...] = ("REGISTRY_ONLY", "ALLOW_ANY")
ISTIO_DEFAULT_MODE: OutboundMode = "ALLOW_ANY"
"""What istiod uses when the mesh config names no mode (``DefaultMeshConfig`` in istio/istio ``pkg/config/mesh``)."""
ISTIO_NAMESPACE = "istio-system"
MESH_CONFIGMAP = "istio"
CONFIGMAPS = ResourceType("", "v1", "ConfigMap", "configmaps")


class MeshConfigInvalid(ClusterError):
    """The ``istio`` ConfigMap's ``mesh`` key is not a YAML mapping, or names an unknown outbound mode."""

    code = "CLUSTER-E010"


@dataclass(frozen=True)
class MeshOutbound:
    """The outbound traffic mode the mesh applies to a namespace without a Sidecar of its own.

    ``mode`` is None when no Istio mesh config was found; ``source`` says where the mode came from
    and ``origin`` names that object (``istio-system/istio``), empty for ``none``.
    """

    mode: OutboundMode | None
    source: ModeSource
    origin: str = ""
    # NB: what a namespace's own Sidecar without a mode falls back to is the mesh config's mode, never the root
    # namespace's Sidecar (istio/istio pilot/pkg/model/sidecar.go initSidecarScopeInternalIndexes); the
    # simulator needs it and the root namespace beside the Sidecars. Not part of the summary's identity.
    mesh_config_mode: OutboundMode | None = field(default=None, compare=False)
    root_namespace: str = field(default=ISTIO_NAMESPACE, compare=False)

    @property
    def restricts_egress(self) -> bool:
        """False under ALLOW_ANY: an egress policy then restricts nothing."""
        return self.mode == "REGISTRY_ONLY"


def read_outbound_mode(api: ClusterApi, caps: Capabilities, *, istio_namespace: str = ISTIO_NAMESPACE) -> MeshOutbound:
    """The mesh-wide outbound traffic mode, after a root-namespace Sidecar's override.

    Args:
        api: the cluster.
        caps: its discovered capabilities (to address Sidecars in a served version).
        istio_namespace: where the control plane's ``istio`` ConfigMap lives.

    Raises:
        MeshConfigInvalid: the mesh config is not YAML, not a mapping, or names an unknown mode.
        ClusterError: the cluster refused or failed a request (Forbidden, ClusterUnreachable, ...).
    """
    configmap = find_mesh_configmap(api, istio_namespace)
    if configmap is None:
        return MeshOutbound(None, "none")
    origin = f"{istio_namespace}/{configmap['metadata']['name']}"
    mesh = parse_mesh_config(configmap, origin)
    root = str(mesh.get("rootNamespace") or ISTIO_NAMESPACE)
    mode = _outbound_mode_of(mesh, origin)
    fallback = mode or ISTIO_DEFAULT_MODE
    override = _root_sidecar_mode(api, caps, root)
    if override is not None:
        return MeshOutbound(override.mode, "sidecar", override.origin, fallback, root)
    return MeshOutbound(fallback, "mesh-config" if mode else "istio-default", origin, fallback, root)


def find_mesh_configmap(api: ClusterApi, namespace: str) -> Object | None:
    """The ``istio`` ConfigMap, else the revisioned ``istio-<rev>`` ones' first by name; None when there is none.

    NB: with several revisions installed side by side, the default revision's ``istio`` wins, as it is
    the one namespaces without a ``istio.io/rev`` label are injected with.
    """
    try:
        return api.get(resource=CONFIGMAPS, namespace=namespace, name=MESH_CONFIGMAP)
    except NotFound:
        pass
    revisioned = [
        item
        for item in api.list(resource=CONFIGMAPS, label_selector="", namespace=namespace)
        if str(item["metadata"].get("name", "")).startswith(f"{MESH_CONFIGMAP}-") and "mesh" in (item.get("data") or {})
    ]
    return min(revisioned, key=lambda item: str(item["metadata"]["name"]), default=None)


def parse_mesh_config(configmap: Object, origin: str) -> dict[str, Any]:
    """The ConfigMap's ``mesh`` key as a mapping (empty when the key is absent or blank)."""
    text = (configmap.get("data") or {}).get("mesh") or ""
    if not text.strip():
        return {}
    try:
        # NB: the core's hardened reader (size, depth and alias bounds): the text comes from the cluster,
        # which the console trusts no more than a user.
        data = load_one(text).data
    except YamlLoadError as exc:
        line = f" (line {exc.line})" if exc.line else ""
        raise MeshConfigInvalid(
            f"The mesh config in ConfigMap {origin} is not a YAML mapping{line}: {exc.message}"
        ) from exc
    return cast(dict[str, Any], data)


def _outbound_mode_of(spec: dict[str, Any], origin: str) -> OutboundMode | None:
    policy = spec.get("outboundTrafficPolicy")
    if policy is None:
        return None
    if not isinstance(policy, dict):
        raise MeshConfigInvalid(f"outboundTrafficPolicy in {origin} is not a mapping.")
    mode = policy.get("mode")
    if mode is None:
        return None
    if mode not in OUTBOUND_MODES:
        raise MeshConfigInvalid(
            f"outboundTrafficPolicy.mode in {origin} is {str(mode)[:40]!r}; Istio knows REGISTRY_ONLY and ALLOW_ANY."
        )
    return cast(OutboundMode, mode)


def _root_sidecar_mode(api: ClusterApi, caps: Capabilities, root_namespace: str) -> MeshOutbound | None:
    """The mode a root-namespace Sidecar without workloadSelector sets, if one exists and sets it."""
    sidecars = sidecar_resource(caps)
    if sidecars is None:
        return None
    listed = api.list(resource=sidecars, label_selector="", namespace=root_namespace)
    for sidecar in sorted(listed, key=_age):
        spec = sidecar.get("spec") or {}
        if spec.get("workloadSelector"):
            continue
        origin = f"{root_namespace}/{sidecar['metadata']['name']}"
        mode = _outbound_mode_of(spec, f"Sidecar {origin}")
        return MeshOutbound(mode, "sidecar", origin) if mode else None
    return None


def sidecar_resource(caps: Capabilities) -> ResourceType | None:
    """Sidecars in the newest version the cluster serves; None when it serves Istio's networking API in none we read."""
    version = next((v for v in VERSION_PREFERENCE if v in caps.served.get(NETWORKING, ())), None)
    return ResourceType(NETWORKING, version, "Sidecar", "sidecars") if version is not None else None


def _age(obj: Object) -> tuple[str, str]:
    """Oldest first: with several selector-less Sidecars in one namespace, Istio uses the oldest."""
    meta = obj.get("metadata") or {}
    return (str(meta.get("creationTimestamp") or ""), str(meta.get("name") or ""))
