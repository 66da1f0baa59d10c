"""Which requests the review's revision would let through or stop compared with what a cluster holds *now*.

The report's reachability change compares two revisions; a cluster may hold something else (an
apply that failed half-way, a hand edit, a drifted object). The plan already reads the policy's
live objects, so the same simulation runs against them: the live Istio objects (target
``istio``), or the expansion of the live custom resource (target ``asm``), against the revision's
expansion. The probes come from the revision, the revision last applied there, the live resource
and the live ServiceEntries, so a host that only the live state still allows is probed too.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from policies.cluster.diff import Plan, comparable
from policies.cluster.targets import DesiredState
from policies.clusters import ClusterMesh, mesh_for
from policies.core.expansion import ExpansionError, expand_policy
from policies.core.gateway import HTTP_FAMILY, GatewayDescription
from policies.core.model import EgressPolicy as PolicyModel
from policies.core.reachability_change import (
    Probes,
    ReachabilityChange,
    objects_reachability_change,
    probe_sources,
    probe_urls,
)
from policies.core.simulator import SimulationInputError
from policies.core.simulator.request import DEFAULT_PORTS
from policies.models import Cluster, Review
from policies.review_report import DEFAULT_MESH_MODE, applied_base
from policies.services import translation_settings

CR_KIND = "ASMEgressTrafficPolicy"


def live_reachability(
    review: Review, cluster: Cluster, plan: Plan, state: DesiredState, gateway: GatewayDescription
) -> ReachabilityChange | None:
    """The (source, URL) pairs whose outcome the revision changes against the cluster's live objects.

    None when the live state cannot be simulated (an object the simulator cannot read, a live
    resource that no longer validates): the plan itself still stands.
    """
    settings = translation_settings()
    try:
        proposed = PolicyModel.model_validate(review.revision.document)
        live_policy, live_objects = _live(plan, state, gateway)
        base = applied_base(review, cluster).revision
        known = [p for p in (proposed, live_policy) if p is not None]
        known += [PolicyModel.model_validate(base.document)] if base is not None else []
        urls = list(dict.fromkeys([*probe_urls(known), *service_entry_urls(live_objects)]))
        probes = Probes(probe_sources(known, settings), urls)
        desired = expand_policy(proposed, gateway, settings)
        mesh = mesh_for(cluster) or ClusterMesh(DEFAULT_MESH_MODE)
        # NB: the cluster's Sidecars hold for the live state and the revision alike
        return objects_reachability_change(
            live_objects, desired, probes, gateway, settings, mesh_mode=mesh.mode, extra_objects=mesh.sidecars
        )
    except (ExpansionError, SimulationInputError, ValidationError):
        return None


def service_entry_urls(objects: list[Any]) -> list[str]:
    """A URL per host and port of each ServiceEntry (what the live state lets a workload name), wildcards left out."""
    urls = []
    for obj in objects:
        if obj.get("kind") != "ServiceEntry":
            continue
        spec = obj.get("spec") or {}
        for port in spec.get("ports") or []:
            scheme = "http" if str(port.get("protocol", "")).upper() in HTTP_FAMILY else "https"
            suffix = "" if DEFAULT_PORTS[scheme] == port.get("number") else f":{port.get('number')}"
            urls += [f"{scheme}://{host}{suffix}/" for host in spec.get("hosts") or [] if "*" not in host]
    return urls


def _live(plan: Plan, state: DesiredState, gateway: GatewayDescription) -> tuple[PolicyModel | None, list[Any]]:
    """The live custom resource (``asm``) and the live Istio objects the simulation reads."""
    # NB: without the server's bookkeeping (status, managedFields, ...), but with the apiVersion it was read in.
    live = [{**comparable(item.live), "apiVersion": item.live["apiVersion"]} for item in plan.objects if item.live]
    if state.target != "asm":
        return None, [obj for obj in live if obj.get("kind") != CR_KIND]
    resource = next((obj for obj in live if obj.get("kind") == CR_KIND), None)
    if resource is None:
        return None, []
    policy = PolicyModel.model_validate(resource)
    return policy, expand_policy(policy, gateway, translation_settings())
