"""Benchmark: an apply job of a 100-target policy to three clusters in parallel vs. to one; print the figures.

Starts three control planes from testenv/ (kube-apiserver + etcd each), stores them as clusters,
and has a 100-target policy submitted and approved (two of them, so each run is a first apply:
every object created). It then runs the job the worker would run, in this process:

1. the first policy's review applied to one cluster,
2. the second policy's review applied to all three clusters at once (one thread per cluster).

It prints both wall times (job start to finish: per-object progress written, deployments and audit
entries recorded) and their ratio. Target: three clusters take at most 1.5× one cluster's time.
Beside each time: the CPU seconds of this process and of the API servers + etcds, since all of them
share the machine's cores (three clusters cost three servers' CPU), and the *CPU floor*: that CPU
spread over every core, the least wall time any schedule could take here. A wall time at its floor
means nothing waits that could run; when one cluster's job already keeps every core busy, three
clusters cannot take less than about three times as long on the same machine, however parallel.
With ``--rounds N`` the two jobs alternate N times, and the medians are compared.

    .venv/bin/python bench/apply_jobs.py [--targets 100] [--rounds 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _console  # noqa: F401 - Django on a throwaway SQLite database
from django.contrib.auth.models import Group
from django.core.management import call_command

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.apply import policy_data
from bench.kubectl_vs_egress import process_cpu
from policies import jobs, reviews, services
from policies.core.crd import crd_manifest
from policies.core.review import Role
from policies.core.yamlio import dump_yaml
from policies.job_runner import run_apply_job
from policies.management.commands.seed_demo import ensure_seed_gateway
from policies.models import ApplyJob, Cluster, Review
from testenv.controlplane import ControlPlane

GATEWAY_NAMESPACE = "istio-system"
POLICY_NAMESPACE = "istio-egress"
TARGET = 1.5


def start_planes(count: int, crd_dir: Path) -> list[ControlPlane]:
    """``count`` control planes started side by side, each with our CRD and the policy's namespaces."""
    crd = crd_dir / "asm-crd.yaml"
    crd.write_text(dump_yaml(crd_manifest()))
    planes = [ControlPlane([crd]) for _ in range(count)]
    with ThreadPoolExecutor(count) as pool:
        list(pool.map(lambda plane: plane.start(), planes))
    for plane in planes:
        for namespace in (GATEWAY_NAMESPACE, POLICY_NAMESPACE, "mytest"):
            status, body = plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})
            assert status in (201, 409), body
    return planes


def user(role: Role, name: str):
    from django.contrib.auth import get_user_model

    account = get_user_model().objects.create_user(name, password="bench-only-password")
    account.groups.add(Group.objects.get(name=role.value))
    return get_user_model().objects.get(pk=account.pk)


def approved_review(gateway_name: str, targets: int) -> Review:
    """A ``targets``-target policy for a gateway of its own, submitted by an editor and approved."""
    gateway = ensure_seed_gateway(gateway_name)
    data = policy_data(targets, POLICY_NAMESPACE)
    data["metadata"]["name"] = gateway.policy_name
    data["spec"]["byEgressGateway"]["name"] = gateway.name
    author, approver = user(Role.EDITOR, f"author-{gateway_name}"), user(Role.APPROVER, f"approver-{gateway_name}")
    policy = services.create_policy(data, user=author)
    review = reviews.submit_review(policy, user=author)
    return reviews.approve_review(review, user=approver)


def servers_cpu(planes: list[ControlPlane]) -> float:
    """CPU seconds the planes' API servers and etcds have used so far."""
    return sum(process_cpu(proc.pid) for plane in planes for proc in (plane.apiserver, plane.etcd) if proc is not None)


def timed_job(
    review: Review, clusters: list[Cluster], operator, planes: list[ControlPlane]
) -> tuple[float, float, float, ApplyJob]:
    """Wall time of the job, this process's CPU time and the servers' (every plane's, busy or not)."""
    job = jobs.start_apply(review, clusters, target="istio", dry_run=False, user=operator, enqueue=False)
    started, cpu, server = time.perf_counter(), time.process_time(), servers_cpu(planes)
    run_apply_job.call(job.pk)
    elapsed, cpu, server = time.perf_counter() - started, time.process_time() - cpu, servers_cpu(planes) - server
    job.refresh_from_db()
    assert job.state == "succeeded", list(job.clusters.values_list("cluster__name", "error_code", "error_message"))
    return elapsed, cpu, server, job


def objects_per_cluster(job: ApplyJob) -> str:
    return ", ".join(f"{row.cluster.name}: {row.items.count()}" for row in job.clusters.select_related("cluster"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=1, help="alternate the one- and three-cluster jobs N times")
    args = parser.parse_args()
    import tempfile

    call_command("migrate", verbosity=0)
    print("starting 3 control planes…", flush=True)
    planes = start_planes(3, Path(tempfile.mkdtemp(prefix="egress-bench-crd-")))
    try:
        clusters = [
            Cluster.objects.create(name=f"plane-{i}", kubeconfig_path=str(plane.kubeconfig_path), context="admin")
            for i, plane in enumerate(planes, start=1)
        ]
        operator = user(Role.OPERATOR, "operator")
        walls: dict[str, list[float]] = {"one cluster": [], "three in parallel": []}
        for number in range(args.rounds):
            for label, chosen in (("one cluster", clusters[:1]), ("three in parallel", clusters)):
                review = approved_review(f"gw-{len(chosen)}-{number}", args.targets)
                wall, cpu, server, job = timed_job(review, chosen, operator, planes)
                walls[label].append(wall)
                floor = (cpu + server) / (os.cpu_count() or 1)
                print(f"{label + ':':<22}{wall:.2f} s; CPU s: {cpu:.2f} here, {server:.2f} API servers + etcds "
                      f"({objects_per_cluster(job)} objects); CPU floor {floor:.2f} s on {os.cpu_count()} cores "
                      f"(wall / floor {wall / floor:.2f})", flush=True)  # fmt: skip
        one, three = (statistics.median(walls[label]) for label in ("one cluster", "three in parallel"))
        ratio = three / one
        verdict = "ok" if ratio <= TARGET else "OVER TARGET"
        print(f"ratio three/one:      {ratio:.2f}× of the medians (target ≤ {TARGET}×: {verdict})")
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (the apiservers share them)")
    finally:
        for plane in planes:
            plane.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
