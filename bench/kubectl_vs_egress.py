"""Benchmark: ``kubectl apply --server-side`` against ``manage.py egress apply``, side by side; prints both.

Same control plane (started from testenv/, or ``--kubeconfig``/``--context``), same 302 objects
(``bench/apply.py``'s 100-target policy, expanded for the Istio target), each tool in its own
fresh pair of namespaces per round, so every first apply creates everything. Timed as whole
commands, the way an operator runs them (process start-up, kubeconfig, discovery, and for us
the dry-run pass that plans the apply):

1. first apply (every object created), 2. re-apply (nothing changes), 3. start-up alone
(``kubectl version --client`` against ``manage.py egress --help``). The tools take turns going first.

kubectl is built from the test control plane's own wrapper module (``testenv/build.sh``); its
discovery cache is warmed first, so its figures are its best. Issue 11's targets: our whole apply,
dry-run pass included, at most kubectl's single pass; our start-up at most 0.5 s.

Beside the wall times it prints the CPU seconds each command costs: the tool's own (user + system)
and, when the API server's and etcd's processes are known (a control plane the bench started, or
``--state-dir`` of one started by ``make testenv``), theirs. On two cores shared with the server,
the wall time of the tool that keeps both cores busy tends to its CPU total when other work takes
a core, so those figures say why a ratio moves with the load.

    .venv/bin/python bench/kubectl_vs_egress.py [--rounds 3] [--targets 100]
        [--kubeconfig F --context C [--state-dir .testenv]]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.apply import policy_data
from policies.cluster.discovery import capabilities
from policies.cluster.errors import Conflict
from policies.cluster.kubernetes_client import KubernetesClusterApi
from policies.cluster.targets import desired_state
from policies.core.document import parse_policy_data
from policies.core.gateway import TranslationSettings

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TARGET = 0.5
POLICY_NAMESPACE = "istio-egress"


def kubectl_binary() -> Path:
    """``kubectl`` from the testenv cache, built by ``testenv/build.sh`` when missing."""
    from testenv.controlplane import binary_dir

    found = binary_dir() / "kubectl"
    if not found.exists():
        subprocess.run(["/bin/bash", str(ROOT / "testenv" / "build.sh")], check=True, stdout=subprocess.DEVNULL)
    return found


@dataclass(frozen=True)
class Sample:
    """One command: wall seconds, its own CPU seconds, and the API server's and etcd's (None when unknown)."""

    wall: float
    client_cpu: float
    server_cpu: float | None


@dataclass(frozen=True)
class Meter:
    """Runs commands and measures them; ``server_pids`` are the API server's and etcd's, when known."""

    server_pids: tuple[int, ...] = ()

    def run(self, argv: Sequence[str], env: dict[str, str]) -> Sample:
        """Measure one command, which must succeed."""
        server_before, children_before = self._server_cpu(), _children_cpu()
        started = time.perf_counter()
        done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        elapsed = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(argv[:4])} ... failed ({done.returncode}):\n{done.stderr[-2000:]}")
        server_after = self._server_cpu()
        server = None if server_before is None or server_after is None else server_after - server_before
        return Sample(elapsed, _children_cpu() - children_before, server)

    def _server_cpu(self) -> float | None:
        if not self.server_pids:
            return None
        try:
            return sum(process_cpu(pid) for pid in self.server_pids)
        except OSError:  # NB: a pid from a stale state file
            return None


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a running process (``/proc/PID/stat`` fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def state_pids(state_dir: Path) -> tuple[int, ...]:
    """The API server's and etcd's pids from the state file of ``python -m testenv.controlplane start``."""
    state = json.loads((state_dir / "state.json").read_text(encoding="utf-8"))
    return tuple(int(state[key]) for key in ("apiserver_pid", "etcd_pid") if state.get(key))


class Round:
    """One round: a fresh policy name and gateway namespace per tool, kubectl's manifests and our policy file."""

    def __init__(self, api: KubernetesClusterApi, targets: int, folder: Path) -> None:
        suffix = uuid.uuid4().hex[:6]
        # NB: policies live in istio-egress (V2), named after their gateway (V3): a fresh gateway name
        # per tool and round makes every object new, so each first apply really creates all of them.
        self.names = {tool: (f"{tool}{suffix}", f"bench-{tool}-gw-{suffix}") for tool in ("kubectl", "egress")}
        for namespace in (POLICY_NAMESPACE, *(gateway_ns for _, gateway_ns in self.names.values())):
            create_namespace(api, namespace)
        policies = {tool: policy(targets, gateway) for tool, (gateway, _) in self.names.items()}
        self.objects = objects_for(api, policies["kubectl"], self.names["kubectl"][1])
        self.manifests = folder / f"{suffix}.yaml"
        self.manifests.write_text(yaml.safe_dump_all(self.objects, sort_keys=False), encoding="utf-8")
        self.policy = folder / f"{suffix}.policy.yaml"
        self.policy.write_text(yaml.safe_dump(policies["egress"], sort_keys=False), encoding="utf-8")


def policy(targets: int, gateway: str) -> dict[str, Any]:
    """``bench/apply.py``'s policy of ``targets`` HTTP targets, for gateway ``gateway``."""
    data = policy_data(targets, POLICY_NAMESPACE)
    data["metadata"]["name"] = f"egress-by-{gateway}"
    data["spec"]["byEgressGateway"]["name"] = gateway
    return data


def objects_for(api: KubernetesClusterApi, data: dict[str, Any], gateway_namespace: str) -> list[dict[str, Any]]:
    """The Istio objects ``egress apply --target istio`` sends for ``data``, as kubectl will apply them."""
    parsed = parse_policy_data(data).policy
    assert parsed is not None
    settings = TranslationSettings(gateway_namespace=gateway_namespace)
    return desired_state(parsed, capabilities(api), target="istio", settings=settings).objects


def create_namespace(api: KubernetesClusterApi, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    with contextlib.suppress(Conflict):  # NB: istio-egress is shared by the rounds
        api.transport.request("POST", "/api/v1/namespaces", verb="create", resource="namespaces", body=body)


def kubectl_apply(kubectl: Path, where: list[str], manifests: Path) -> list[str]:
    return [str(kubectl), *where, "apply", "--server-side", "--field-manager=kubectl-bench", "-f", str(manifests)]


def egress_apply(where: list[str], policy: Path, gateway_namespace: str) -> list[str]:
    return [sys.executable, "manage.py", "egress", "apply", str(policy), *where, "--target", "istio",
            "--gateway-namespace", gateway_namespace]  # fmt: skip


def best_startup(meter: Meter, argv: Sequence[str], env: dict[str, str], repeats: int = 5) -> float:
    return min(meter.run(argv, env).wall for _ in range(repeats))


def run(kubeconfig: Path, context: str | None, targets: int, rounds: int, meter: Meter) -> int:
    api = KubernetesClusterApi.from_kubeconfig(kubeconfig, context)
    kubectl = kubectl_binary()
    where = ["--kubeconfig", str(kubeconfig), *(["--context", context] if context else [])]
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="kubectl-vs-egress-") as tmp:
        env = {**os.environ, "KUBECACHEDIR": str(Path(tmp) / "kube-cache"), "EGRESS_LOG_LEVEL": "WARNING"}
        meter.run([str(kubectl), *where, "api-resources"], env)  # NB: warms kubectl's discovery cache
        figures: dict[str, list[Sample]] = {}
        for number in range(rounds):
            one = Round(api, targets, Path(tmp))
            commands = [
                ("kubectl", kubectl_apply(kubectl, where, one.manifests)),
                ("egress", egress_apply(where, one.policy, one.names["egress"][1])),
            ]
            # NB: every other round egress goes first, so neither tool always meets a server its rival just warmed.
            for label, argv in commands if number % 2 == 0 else commands[::-1]:
                figures.setdefault(f"{label} first apply", []).append(meter.run(argv, env))
                figures.setdefault(f"{label} re-apply", []).append(meter.run(argv, env))
        kubectl_start = best_startup(meter, [str(kubectl), "version", "--client"], env)
        egress_start = best_startup(meter, [sys.executable, "manage.py", "egress", "--help"], env)
    report(len(one.objects), targets, rounds, figures, kubectl_start, egress_start)
    # NB: both tools share the machine's cores with the API server and etcd; a busy machine slows the
    # one that needs more CPU (ours parses and validates the policy and runs the dry-run pass) the most.
    print(f"load average (1 min): {load_before:.2f} before, {os.getloadavg()[0]:.2f} after; {os.cpu_count()} CPUs")
    return 0


def report(
    objects: int, targets: int, rounds: int, figures: dict[str, list[Sample]], kubectl_start: float, egress_start: float
) -> None:
    walls = {label: [sample.wall for sample in samples] for label, samples in figures.items()}
    median = {label: statistics.median(values) for label, values in walls.items()}
    print(f"{objects} objects ({targets}-target policy), median of {rounds} round(s), whole commands, wall seconds")
    print(f"{'':<28}{'kubectl':>10}{'egress':>10}")
    for step in ("first apply", "re-apply"):
        print(f"{step:<28}{median[f'kubectl {step}']:>9.2f}s{median[f'egress {step}']:>9.2f}s")
        best = {tool: min(walls[f"{tool} {step}"]) for tool in ("kubectl", "egress")}
        print(f"{'  best of the rounds':<28}{best['kubectl']:>9.2f}s{best['egress']:>9.2f}s")
        # NB: the two tools of one round run back to back, so their ratio is steadier than either time
        # when other work comes and goes on the machine.
        ratios = [e / k for e, k in zip(walls[f"egress {step}"], walls[f"kubectl {step}"], strict=True)]
        print(f"{'  egress / kubectl per round':<28}{'':>10}{statistics.median(ratios):>9.2f}x   (median)")
        print_cpu(step, figures)
    print(f"{'start-up (best of 5)':<28}{kubectl_start:>9.2f}s{egress_start:>9.2f}s"
          "   (kubectl version --client | manage.py egress --help)")  # fmt: skip
    for step in ("first apply", "re-apply"):
        ours, theirs = median[f"egress {step}"], median[f"kubectl {step}"]
        verdict = "met" if ours <= theirs else "MISSED"
        print(f"target: egress {step} (dry-run pass included) <= kubectl's: {verdict} ({ours:.2f} s vs {theirs:.2f} s)")
    verdict = "met" if egress_start <= STARTUP_TARGET else "MISSED"
    print(f"target: manage.py egress --help <= {STARTUP_TARGET} s: {verdict} ({egress_start:.2f} s)")


def print_cpu(step: str, figures: dict[str, list[Sample]]) -> None:
    """Median CPU seconds of the step: the tool's own, then the API server's and etcd's when measured."""
    samples = {tool: figures[f"{tool} {step}"] for tool in ("kubectl", "egress")}
    client = {tool: statistics.median(s.client_cpu for s in samples[tool]) for tool in samples}
    print(f"{'  CPU s: the tool itself':<28}{client['kubectl']:>9.2f}s{client['egress']:>9.2f}s")
    if any(s.server_cpu is None for tool in samples for s in samples[tool]):
        return
    server = {tool: statistics.median(s.server_cpu or 0.0 for s in samples[tool]) for tool in samples}
    print(f"{'  CPU s: API server + etcd':<28}{server['kubectl']:>9.2f}s{server['egress']:>9.2f}s")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--targets", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--kubeconfig")
    parser.add_argument("--context")
    parser.add_argument("--state-dir", help="with --kubeconfig: testenv's state dir (its server's CPU)")
    args = parser.parse_args()
    if args.kubeconfig:
        meter = Meter(state_pids(Path(args.state_dir)) if args.state_dir else ())
        return run(Path(args.kubeconfig), args.context, args.targets, args.rounds, meter)
    from testenv.controlplane import ControlPlane

    plane = ControlPlane().start()
    print(f"control plane ready in {plane.startup_seconds:.1f} s")
    pids = tuple(process.pid for process in (plane.apiserver, plane.etcd) if process is not None)
    try:
        return run(plane.kubeconfig_path, "admin", args.targets, args.rounds, Meter(pids))
    finally:
        plane.stop()


if __name__ == "__main__":
    sys.exit(main())
