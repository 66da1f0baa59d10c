"""Every Sidecar in a cluster: what the simulator needs to answer per workload, as istiod does.

Istio applies ``outboundTrafficPolicy`` per proxy, not per mesh: a Sidecar in the workload's own
namespace (or one selecting it with ``workloadSelector``) overrides the mesh config's mode for that
workload, and its ``egress[].hosts`` narrow which services the proxy imports at all. The mesh-wide
summary (``policies.cluster.mesh``) cannot tell a reviewer that ``team-a`` passes unknown hosts
straight through in a ``REGISTRY_ONLY`` mesh; the Sidecars themselves, given to the simulator, can.

A check lists them in every namespace through ``ClusterApi.list``, keeps a trimmed copy (apiVersion,
kind, name, namespace, creationTimestamp, spec) and notes those the simulator cannot model, so a
simulation with the cluster either reads every Sidecar or says which one stops it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies.cluster.discovery import Capabilities
from policies.cluster.errors import ClusterError
from policies.cluster.interface import ClusterApi, Object
from policies.cluster.mesh import OUTBOUND_MODES, sidecar_resource
from policies.core.simulator import SimulationInputError
from policies.core.simulator.index import read_catalog

# NB: each trimmed Sidecar is stored on the cluster's row and read into every simulation with the cluster; a few
# thousand keep that row under a few megabytes. A mesh with more is refused whole rather than cut at an
# arbitrary Sidecar, which would simulate the ones left out as if they did not exist.
MAX_SIDECARS = 2000
MAX_UNMODELLED = 20


class TooManySidecars(ClusterError):
    """The cluster holds more Sidecars than the console keeps for its simulations."""

    code = "CLUSTER-E013"


def read_sidecars(api: ClusterApi, caps: Capabilities) -> list[Object]:
    """Every Sidecar in every namespace, trimmed, oldest first; empty when the cluster serves no Sidecar kind.

    Raises:
        TooManySidecars: more than ``MAX_SIDECARS``.
        ClusterError: the cluster refused or failed the list (Forbidden, ClusterUnreachable, ...).
    """
    resource = sidecar_resource(caps)
    if resource is None:
        return []
    listed = api.list(resource=resource, label_selector="", namespace="")
    if len(listed) > MAX_SIDECARS:
        raise TooManySidecars(
            f"The cluster holds {len(listed)} Sidecars; the console keeps at most {MAX_SIDECARS} for its simulations."
        )
    return sorted((trimmed(item) for item in listed), key=_age)


def trimmed(sidecar: Object) -> Object:
    """What the simulator reads of a Sidecar: no status, labels, annotations or managed fields."""
    meta = sidecar.get("metadata") or {}
    kept = {key: meta[key] for key in ("name", "namespace", "creationTimestamp") if meta.get(key)}
    return {
        "apiVersion": sidecar.get("apiVersion", ""),
        "kind": "Sidecar",
        "metadata": kept,
        "spec": sidecar.get("spec") or {},
    }


def _age(sidecar: Object) -> tuple[str, str, str]:
    meta = sidecar["metadata"]
    return (str(meta.get("creationTimestamp", "")), str(meta.get("namespace", "")), str(meta.get("name", "")))


@dataclass(frozen=True)
class Unmodelled:
    """A Sidecar the simulator cannot read (an egress port, a bind address, ...), with the simulator's code."""

    sidecar: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        """JSON contract: sidecar (namespace/name), code, message."""
        return {"sidecar": self.sidecar, "code": self.code, "message": self.message}


def unmodelled(sidecars: list[Object]) -> list[Unmodelled]:
    """The Sidecars the simulator refuses, at most ``MAX_UNMODELLED`` of them (one is enough to stop a simulation)."""
    found: list[Unmodelled] = []
    for sidecar in sidecars:
        try:
            read_catalog([sidecar])
        except SimulationInputError as exc:
            found.append(Unmodelled(_name_of(sidecar), exc.code, exc.message))
            if len(found) == MAX_UNMODELLED:
                break
    return found


@dataclass(frozen=True)
class ModeOverride:
    """A Sidecar that sets the outbound mode of its namespace's proxies (``workloads`` empty) or of those it selects."""

    namespace: str
    name: str
    workloads: str
    mode: str

    def as_dict(self) -> dict[str, str]:
        """JSON contract: namespace, sidecar (its name), workloads (``k=v,...``; empty: the whole namespace), mode."""
        return {"namespace": self.namespace, "sidecar": self.name, "workloads": self.workloads, "mode": self.mode}


def mode_overrides(sidecars: list[Object], root_namespace: str) -> list[ModeOverride]:
    """Every Sidecar that sets an outbound mode, but the root namespace's default (the mesh-wide mode shows that)."""
    found = []
    for sidecar in sidecars:
        spec, meta = sidecar.get("spec") or {}, sidecar.get("metadata") or {}
        mode = _mode_of(spec)
        selector = spec.get("workloadSelector")
        namespace = str(meta.get("namespace", ""))
        if mode is None or (namespace == root_namespace and not selector):
            continue
        found.append(ModeOverride(namespace, str(meta.get("name", "")), _labels_text(selector), mode))
    return found


def _mode_of(spec: dict[str, Any]) -> str | None:
    policy = spec.get("outboundTrafficPolicy")
    mode = policy.get("mode") if isinstance(policy, dict) else None
    return mode if mode in OUTBOUND_MODES else None


def _labels_text(selector: Any) -> str:
    labels = selector.get("labels") if isinstance(selector, dict) else None
    if not isinstance(labels, dict):
        return ""
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


def _name_of(sidecar: Object) -> str:
    meta = sidecar.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"
