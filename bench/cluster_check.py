"""Prints how long a cluster check takes: a live control plane (bare, then with applied policies), a closed port,
and a server that never answers.

A check is the one console request that calls a cluster (discovery, the mesh's outbound mode, drift of
each applied policy), so its worst case is what a person waits for after "Check connection". Its retry
policy (``policies.clusters.CHECK_RETRY``: 2 attempts, 3 s to connect, 5 s to answer) bounds a dead cluster;
this measures the three cases: the test control plane (testenv/, started here) with nothing applied, a
local port nobody listens on, and a local socket that accepts connections but never answers (a hung
apiserver: the read timeout decides). With ``--policies N`` it then applies N seed policies (one gateway
each) and times the check, whose drift pass dominates, one policy at a time and ``POLICIES_IN_FLIGHT`` at once.
On the loopback control plane of a busy 2-core machine the two are about equal (round trips cost almost
nothing there); against a remote apiserver, where round trips dominate, the concurrent pass is expected to
win (not measured here).
Nothing is asserted: compare with the bound the policy implies.

Run: .venv/bin/python bench/cluster_check.py [--repeats 5] [--policies 20]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from pathlib import Path

import _console  # noqa: F401 - sets Django up on a throwaway database
from django.contrib.auth import get_user_model
from django.core.management import call_command

from policies import cluster_status
from policies.cluster.records import connect_cluster
from policies.clusters import CHECK_RETRY, check_cluster
from policies.models import Cluster
from testenv.controlplane import ControlPlane
from tests.fixtures.clusters import apply_recorded, kubeconfig_text, stored_policy


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def timed_checks(cluster: Cluster, repeats: int) -> tuple[list[float], str]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        check_cluster(cluster)
        times.append(time.perf_counter() - started)
    return times, cluster.check_error_code or "ok"


def stored(name: str, path: str, context: str) -> Cluster:
    return Cluster.objects.create(name=name, kubeconfig_path=path, context=context)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--policies", type=int, default=20, help="applied policies for the drift figures")
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    folder = Path(tempfile.mkdtemp(prefix="egress-bench-check-"))
    with ControlPlane() as plane, socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # NB: the kernel completes the handshake; nobody ever reads or writes
        cases = {"live control plane": stored("live", str(plane.kubeconfig_path), "admin")}
        servers = (("closed port", closed_port()), ("no answer", silent.getsockname()[1]))
        for name, port in servers:
            path = folder / f"{name.replace(' ', '-')}.kubeconfig"
            path.write_text(kubeconfig_text(server=f"https://127.0.0.1:{port}"))
            cases[name] = stored(name.replace(" ", "-"), str(path), "prod")
        wait = max(CHECK_RETRY.connect_timeout, CHECK_RETRY.read_timeout)
        bound = CHECK_RETRY.attempts * wait + CHECK_RETRY.max_delay
        print(
            f"check retry policy: {CHECK_RETRY.attempts} attempts, connect timeout {CHECK_RETRY.connect_timeout} s, "
            f"read timeout {CHECK_RETRY.read_timeout} s"
        )
        print(f"bound for a dead cluster: about {bound:.1f} s")
        print(f"{'case':<28} {'result':<14} {'median s':>9} {'max s':>7}")
        for label, cluster in cases.items():
            repeats = args.repeats if label != "no answer" else min(args.repeats, 2)
            times, result = timed_checks(cluster, repeats)
            print(f"{label:<28} {result:<14} {statistics.median(times):>9.3f} {max(times):>7.3f}")
        apply_policies(plane, cases["live control plane"], args.policies)
        for in_flight in (1, cluster_status.POLICIES_IN_FLIGHT):
            cluster_status.POLICIES_IN_FLIGHT = in_flight
            times, result = timed_checks(cases["live control plane"], args.repeats)
            label = f"{args.policies} policies, {in_flight} at once"
            print(f"{label:<28} {result:<14} {statistics.median(times):>9.3f} {max(times):>7.3f}")


def apply_policies(plane: ControlPlane, cluster: Cluster, count: int) -> None:
    """``count`` seed policies, one gateway each, applied to the plane (target istio) and recorded."""
    for namespace in ("istio-system", "istio-egress"):
        plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
    admin = get_user_model().objects.create_superuser("bench")
    api = connect_cluster(cluster)
    for index in range(count):
        apply_recorded(api, cluster, stored_policy(f"gw-{index}", admin), target="istio")


if __name__ == "__main__":
    main()
