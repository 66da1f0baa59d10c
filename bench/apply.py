"""Benchmark: apply and re-apply a 100-target policy to a real kube-apiserver; print the figures.

Starts its own control plane from testenv/ (or uses ``--kubeconfig``/``--context``), creates a
fresh policy and gateway namespace, warms discovery, then measures:

1. first apply (every object created),
2. re-apply of the same revision (everything unchanged: dry runs only, no writes),
3. apply with 10 targets removed (their objects pruned).

For each it prints wall time, objects/s and HTTP requests per object by kind of request,
counted in the transport (the one HTTP choke point). Targets: one dry-run PATCH and at most one
real PATCH per object, one LIST per managed kind, one dry-run and one real DELETE per pruned object.

Requests run ``--concurrency`` at a time (default: the console's, ``REQUESTS_IN_FLIGHT``); 1 gives
the one-by-one figures to compare with.

    .venv/bin/python bench/apply.py [--targets 100] [--concurrency N] [--kubeconfig F --context C]
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from policies.cluster.apply import ApplyResult, apply_objects
from policies.cluster.concurrency import REQUESTS_IN_FLIGHT
from policies.cluster.discovery import capabilities
from policies.cluster.kubernetes_client import KubernetesClusterApi
from policies.cluster.targets import DesiredState, desired_state
from policies.core.document import parse_policy_data
from policies.core.gateway import TranslationSettings


def policy_data(targets: int, namespace: str) -> dict:
    """One rule, ``targets`` HTTP to-entries with distinct hosts, all through gateway port 80."""
    to = [
        {
            "name": f"svc-{i:03d}",
            "hosts": [f"api-{i:03d}.example.com"],
            "port": {"name": "http", "number": 80, "protocol": "HTTP"},
            "byEgressGateway": {"port": 80},
        }
        for i in range(targets)
    ]
    return {
        "apiVersion": "istio.alibabacloud.com/v1",
        "kind": "ASMEgressTrafficPolicy",
        "metadata": {"name": "egress-by-egressgateway", "namespace": namespace},
        "spec": {
            "byEgressGateway": {"name": "egressgateway"},
            "egressRules": [{"from": [{"namespace": "mytest"}], "to": to}],
        },
    }


def state_for(api: KubernetesClusterApi, targets: int, pn: str, gn: str) -> DesiredState:
    policy = parse_policy_data(policy_data(targets, pn)).policy
    assert policy is not None
    return desired_state(policy, capabilities(api), target="istio", settings=TranslationSettings(gateway_namespace=gn))


def measure(label: str, api: KubernetesClusterApi, state: DesiredState, concurrency: int) -> ApplyResult:
    before = api.transport.requests.copy()
    started = time.perf_counter()
    result = apply_objects(api, desired=state.objects, scope=state.scope, target="istio", concurrency=concurrency)
    elapsed = time.perf_counter() - started
    assert result.ok, result.errors
    sent = api.transport.requests - before
    touched = len(result.outcomes)
    outcomes = Counter(o.outcome for o in result.outcomes)
    print(
        f"{label}: {touched} objects in {elapsed:.2f} s = {touched / elapsed:.0f} objects/s "
        f"({', '.join(f'{n} {k}' for k, n in sorted(outcomes.items()))})"
    )
    per_object = ", ".join(f"{k}: {n} ({n / touched:.2f}/object)" for k, n in sorted(sent.items()))
    print(f"    HTTP requests: {sum(sent.values())} total; {per_object}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=REQUESTS_IN_FLIGHT, help="requests in flight")
    parser.add_argument("--kubeconfig")
    parser.add_argument("--context")
    args = parser.parse_args()
    if args.kubeconfig is not None:
        return run(KubernetesClusterApi.from_kubeconfig(args.kubeconfig, args.context), args.targets, args.concurrency)
    from testenv.controlplane import ControlPlane

    plane = ControlPlane().start()
    print(f"control plane ready in {plane.startup_seconds:.1f} s")
    try:
        api = KubernetesClusterApi.from_kubeconfig(plane.kubeconfig_path, args.context or "admin")
        return run(api, args.targets, args.concurrency)
    finally:
        plane.stop()


def run(api: KubernetesClusterApi, targets: int, concurrency: int) -> int:
    pn, gn = (f"bench-{kind}-{uuid.uuid4().hex[:6]}" for kind in ("pn", "gn"))
    for name in (pn, gn):
        api.transport.request(
            "POST",
            "/api/v1/namespaces",
            verb="create",
            resource="namespaces",
            body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
        )
    started = time.perf_counter()
    discovery_before = sum(api.transport.requests.values())
    capabilities(api, refresh=True)
    print(
        f"discovery: {sum(api.transport.requests.values()) - discovery_before} requests in "
        f"{(time.perf_counter() - started) * 1000:.0f} ms (then cached)"
    )
    full = state_for(api, targets, pn, gn)
    print(f"policy: {targets} targets -> {len(full.objects)} Istio objects; {concurrency} request(s) in flight")
    measure("first apply", api, full, concurrency)
    measure("re-apply (same revision)", api, full, concurrency)
    measure("apply with 10 targets removed", api, state_for(api, targets - 10, pn, gn), concurrency)
    return 0


if __name__ == "__main__":
    sys.exit(main())
