"""Discover and replay (issue 13): ingest 1,000,000 access-log lines, replay 100,000 flows.

Plain script, prints figures and asserts nothing (targets: ingest ≤ 10 s and ≤ 200 MB peak,
streaming; replay of 100,000 distinct flows ≤ 2 s):

    .venv/bin/python bench/discover.py [--lines 1000000] [--flows 100000] [--no-cli]

The log is written to a temporary file first: Istio's default TEXT and JSON encodings
alternating, every line with a ``kubectl logs --prefix`` prefix, HTTP, TLS and TCP to a few
thousand destinations from 200 pods, passed through, refused (block_all, BlackHoleCluster) or
sent to the egress gateway. Ingestion runs in a child process so that its peak resident memory
(``resource.getrusage``'s ``ru_maxrss``) is its own and not the generator's; then
``manage.py egress discover --json`` reads the same file, to show the command line streams too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from policies.core.discovery.flows import Flow, FlowAggregator, FlowKey
from policies.core.discovery.propose import propose_policy
from policies.core.discovery.replay import candidate_mesh, replay_flows
from policies.core.discovery.sources import PodIndex, SourceResolver, Workload
from policies.core.gateway import GatewayDescription, GatewayPort
from tests.fixtures.accesslogs import GATEWAY_CLUSTER, block_all, http, json_line, tcp, text_line, tls

PODS = 200
_START = "2024-05-01T10:00:00.000Z"  # NB: the fixtures' start time, replaced line by line.
HOSTS = 2_000
GATEWAY = GatewayDescription(
    name="egressgateway",
    ports=(
        GatewayPort(name="http-80", number=80, protocol="HTTP"),
        *(GatewayPort(name=f"tls-{n}", number=n, protocol="TLS") for n in range(10001, 12001)),
    ),
)


def _pod_list() -> dict[str, object]:
    items = [
        {"metadata": {"name": f"app-{p}-7d9c-x{p}", "namespace": f"team-{p % 20}", "labels": {"app": f"app-{p % 50}"}}}
        for p in range(PODS)
    ]
    return {"kind": "List", "items": items}


def _values(i: int) -> dict[str, object]:
    host, ip = f"api-{i % HOSTS}.example.com", f"52.{i % 200}.{i % 250}.{i % 7 + 1}"
    kind = i % 10
    if kind < 4:
        return http(host, ip)
    if kind == 4:
        return block_all(host, ip)
    if kind == 5:
        return http(host, "10.96.0.50", cluster=GATEWAY_CLUSTER)
    if kind < 8:
        return tls(host, ip)
    if kind == 8:
        return tls(host, ip, cluster="BlackHoleCluster", flags="UH")
    return tcp(ip, 5432)


def write_log(path: str, lines: int) -> None:
    """LINES lines, TEXT and JSON alternating, prefixed with one of the pods (templates reused for speed).

    Each line has a start time of its own, a millisecond after the one before, as in a real log.
    """
    templates = [(text_line if i % 2 else json_line)(_values(i)).replace(_START, "{start}") for i in range(4_000)]
    with open(path, "w", encoding="utf-8") as handle:
        for i in range(lines):
            start = f"2024-05-01T{10 + i // 3_600_000:02}:{i // 60_000 % 60:02}:{i // 1000 % 60:02}.{i % 1000:03}Z"
            line = templates[i % len(templates)].replace("{start}", start)
            handle.write(f"[pod/app-{i % PODS}-7d9c-x{i % PODS}/istio-proxy] {line}\n")


def write_inputs(folder: str, lines: int) -> tuple[str, str]:
    """The access log of ``lines`` lines and the pod list its prefixes name, written in ``folder``; their paths."""
    log, pods = os.path.join(folder, "access.log"), os.path.join(folder, "pods.json")
    with open(pods, "w", encoding="utf-8") as handle:
        json.dump(_pod_list(), handle)
    write_log(log, lines)
    return log, pods


def ingest(log: str, pods: str) -> dict[str, float]:
    """Stream the log into flows (run in the child); seconds, peak RSS, lines and flows."""
    with open(pods, encoding="utf-8") as handle:
        resolver = SourceResolver(PodIndex.from_document(json.load(handle)))
    aggregator = FlowAggregator(resolver)
    started, cpu_started = time.perf_counter(), time.process_time()
    with open(log, "rb") as handle:
        refused = sum(1 for _refusal in aggregator.feed(handle))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # NB: Linux reports KiB.
    summary = aggregator.summary
    return {
        "seconds": seconds,
        "cpu": cpu,
        "peak_mb": peak_mb,
        "lines": summary.lines,
        "flows": summary.flows,
        "refused": refused,
    }


def _cli_figures(log: str, pods: str) -> dict[str, float]:
    """``manage.py egress discover LOG --pods PODS --json`` in a child: wall seconds and its own peak RSS."""
    manage = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "manage.py")
    started = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8") as sink:
        subprocess.run(
            [sys.executable, manage, "egress", "discover", log, "--pods", pods, "--json"], stdout=sink, check=True
        )
    seconds = time.perf_counter() - started
    # NB: the largest child so far; the ingest child ran before, so this is the larger of the two.
    return {"seconds": seconds, "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}


def distinct_flows(count: int) -> list[Flow]:
    """COUNT distinct flows: 100 workloads × hosts, HTTP and TLS, half seen reaching their host."""
    flows = []
    for i in range(count):
        source = Workload(f"team-{i % 20}", (("app", f"app-{i % 100}"),))
        protocol, port = ("HTTP", 80) if i % 2 else ("TLS", 443)
        key = FlowKey(source, f"api-{i // 100}.example.com", port, protocol)  # type: ignore[arg-type]
        flows.append(Flow(key, count=1, first_seen="x", last_seen="x", reached=i % 2))
    return flows


def replay(count: int) -> tuple[float, float, float, dict[str, int]]:
    """Wall and CPU seconds to replay COUNT flows against a policy allowing the first 1,000 of them
    (the candidate's expansion and mesh included), and the CPU seconds of that expansion and mesh."""
    flows = distinct_flows(count)
    candidate = propose_policy(flows[:1_000], GATEWAY).policy
    cpu_started = time.process_time()
    candidate_mesh(candidate, GATEWAY)
    mesh_cpu = time.process_time() - cpu_started
    started, cpu_started = time.perf_counter(), time.process_time()
    report = replay_flows(flows, candidate, GATEWAY)
    return time.perf_counter() - started, time.process_time() - cpu_started, mesh_cpu, dict(report.counts())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--flows", type=int, default=100_000)
    parser.add_argument("--no-cli", dest="cli", action="store_false", help="skip the egress discover run")
    parser.add_argument("--child", nargs=2, metavar=("LOG", "PODS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(ingest(*args.child)))
        return
    with tempfile.TemporaryDirectory() as folder:
        log, pods = write_inputs(folder, args.lines)
        size_mb = os.path.getsize(log) / 1e6
        child = subprocess.run(
            [sys.executable, __file__, "--child", log, pods], capture_output=True, text=True, check=True
        )
        cli = _cli_figures(log, pods) if args.cli else None
    figures = json.loads(child.stdout)
    print(
        f"ingest: {figures['lines']:,} lines ({size_mb:.0f} MB, TEXT+JSON) → {figures['flows']:,} flows "
        f"in {figures['seconds']:.2f} s wall, {figures['cpu']:.2f} s CPU "
        f"({figures['lines'] / figures['seconds']:,.0f} lines/s), "
        f"peak RSS {figures['peak_mb']:.0f} MB (targets: ≤ 10 s, ≤ 200 MB)"
    )
    if cli is not None:
        print(
            f"egress discover --json on the same file: {cli['seconds']:.2f} s wall, "
            f"peak RSS {cli['peak_mb']:.0f} MB (the command line streams it too)"
        )
    seconds, cpu, mesh_cpu, counts = replay(args.flows)
    print(
        f"replay: {args.flows:,} distinct flows in {seconds:.2f} s wall, {cpu:.2f} s CPU, of which {mesh_cpu:.2f} s "
        f"expanding the candidate and indexing its mesh ({counts}) (target: ≤ 2 s)"
    )
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} (wall clock exceeds CPU time when cores are shared)")


if __name__ == "__main__":
    main()
