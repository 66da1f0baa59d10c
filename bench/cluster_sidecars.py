"""Prints what a cluster's stored Sidecars cost a simulation with that cluster: 0, 100 and 2,000 (the bound).

A check keeps every Sidecar of the cluster (``policies.cluster.sidecars.MAX_SIDECARS``) and every simulation
with the cluster reads them from its row and gives them to the simulator beside the policy's objects. This
times, per Sidecar count, reading them (``clusters.cluster_mesh``), one Simulate-tab request
(``simulation.simulate_request``: expand, build the mesh, simulate) and the Simulate tab's reachability
matrix of seed scenario 2. Each Sidecar sits in its own namespace with one egress host and every tenth sets
ALLOW_ANY, as a large multi-tenant mesh would have them. Nothing is asserted: compare the rows.

Run: .venv/bin/python bench/cluster_sidecars.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from typing import Any

import _console  # noqa: F401 - sets Django up on a throwaway database
from django.core.management import call_command

from policies import clusters, simulation
from policies.core.simulator import Request
from policies.management.commands.seed_demo import ensure_seed_gateway
from policies.models import Cluster
from tests.fixtures.console import scenario_document

COUNTS = (0, 100, 2_000)


def sidecar(index: int) -> dict[str, Any]:
    spec: dict[str, Any] = {"egress": [{"hosts": ["./*", "istio-egress/*"]}]}
    if index % 10 == 0:
        spec["outboundTrafficPolicy"] = {"mode": "ALLOW_ANY"}
    metadata = {"name": "default", "namespace": f"team-{index}", "creationTimestamp": "2026-12-01T00:00:00Z"}
    return {"apiVersion": "networking.istio.io/v1", "kind": "Sidecar", "metadata": metadata, "spec": spec}


def median_ms(action: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    repeats = parser.parse_args().repeats
    call_command("migrate", verbosity=0)
    gateway = ensure_seed_gateway().describe()
    document = scenario_document("2")
    request = Request("team-1", {"app": "web"}, "http://unlisted.example/")
    print(f"{'sidecars':>8}  {'read ms':>8}  {'simulate ms':>11}  {'matrix ms':>9}")
    for count in COUNTS:
        record = clusters.ClusterSidecars("read", [sidecar(i) for i in range(count)], fallback_mode="REGISTRY_ONLY")
        name = f"bench-{count}"
        Cluster.objects.create(name=name, in_cluster=True, outbound_mode="REGISTRY_ONLY", sidecars=record.as_json())
        mesh = clusters.cluster_mesh(name)
        read = median_ms(lambda name=name: clusters.cluster_mesh(name), repeats)
        one = median_ms(
            lambda m=mesh: simulation.simulate_request(document, gateway, request, m.mode, m.sidecars), repeats
        )
        grid = median_ms(lambda m=mesh: simulation.reachability(document, gateway, m.mode, m.sidecars), repeats)
        print(f"{count:>8}  {read:>8.1f}  {one:>11.1f}  {grid:>9.1f}")


if __name__ == "__main__":
    main()
