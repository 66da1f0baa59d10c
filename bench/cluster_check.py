"""Prints how long a cluster check takes: a live control plane, a closed port, and a server that never answers.

A check is the one console request that calls a cluster (discovery, the mesh's outbound mode, drift of
each applied policy), so its worst case is what a person waits for after "Check connection". Its retry
policy (``policies.clusters.CHECK_RETRY``: 2 attempts, 3 s to connect, 5 s to answer) bounds a dead cluster;
this measures the three cases: the test control plane (testenv/, started here) with nothing applied, a
local port nobody listens on, and a local socket that accepts connections but never answers (a hung
apiserver: the read timeout decides).
Nothing is asserted: compare with the bound the policy implies.

Run: .venv/bin/python bench/cluster_check.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import tempfile
import time
from pathlib import Path

import _console  # noqa: F401 - sets Django up on a throwaway database
from django.core.management import call_command

from policies.clusters import CHECK_RETRY, check_cluster
from policies.models import Cluster
from testenv.controlplane import ControlPlane
from tests.fixtures.clusters import kubeconfig_text


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
        print(f"{'case':<20} {'result':<14} {'median s':>9} {'max s':>7}")
        for label, cluster in cases.items():
            repeats = args.repeats if label != "no answer" else min(args.repeats, 2)
            times, result = timed_checks(cluster, repeats)
            print(f"{label:<20} {result:<14} {statistics.median(times):>9.3f} {max(times):>7.3f}")


if __name__ == "__main__":
    main()
