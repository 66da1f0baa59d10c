"""Benchmark of the REST API under gunicorn: manifests and simulate next to a bare Django view.

Starts gunicorn (2 sync workers) on a free port of 127.0.0.1 with a throwaway SQLite database
holding the seed gateway, a 50-target policy and an API token, then sends a bounded number of
requests from client threads (``http.client`` connections, one per thread) and prints requests/s
and p50/p99 latency for:

- ``GET /bench/floor/``: a bare Django view behind the same middleware (the framework floor),
- ``GET /api/v1/policies/{id}/manifests/?target=istio`` of the 50-target policy,
- ``POST /api/v1/simulate/`` with the seed's scenario 2 (the README example),
- ``POST /api/v1/policies/{id}/simulate/`` against the 50-target draft.

Each operation runs in several rounds, the rounds of all operations interleaved, and its best
round counts: the machine's other work then slows floor and API alike instead of whichever
operation happened to run during a burst. Next to requests/s it prints the CPU time the two
workers spent per request (from ``/proc``, so on Linux only), which other processes do not move.

Target: each API operation at >= 60% of the floor's throughput. Prints figures, asserts nothing.

Run: ``.venv/bin/python bench/api.py [--requests 3000] [--rounds 6] [--threads 4]``
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
TARGETS = 50
TARGET_SHARE = 0.60


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_environment(workdir: Path) -> dict[str, str]:
    """Environment of the bench process and of gunicorn: same settings, same database."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.api_settings",
        "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
        "DEBUG": "0",
        "SECRET_KEY": "bench-only-secret-key",
        "ALLOWED_HOSTS": "127.0.0.1",
        "EGRESS_LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
    }


def policy_document(targets: int) -> dict[str, Any]:
    """A valid seed-gateway policy with ``targets`` HTTP targets in rules of five."""
    rules = []
    for first in range(0, targets, 5):
        to = [
            {
                "name": f"svc-{i}",
                "hosts": [f"svc-{i}.example.com"],
                "port": {"name": "http", "number": 80, "protocol": "HTTP"},
                "byEgressGateway": {"port": 80},
            }
            for i in range(first, min(first + 5, targets))
        ]
        rules.append({"from": [{"namespace": f"team-{first}", "workloadSelector": {"app": "client"}}], "to": to})
    return {
        "apiVersion": "istio.alibabacloud.com/v1",
        "kind": "ASMEgressTrafficPolicy",
        "metadata": {"name": "egress-by-egressgateway", "namespace": "istio-egress"},
        "spec": {"byEgressGateway": {"name": "egressgateway"}, "egressRules": rules},
    }


def prepare_database() -> tuple[int, str]:
    """Migrate the throwaway database and store the gateway, the policy and a token."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from rest_framework.authtoken.models import Token

    from policies import services
    from policies.management.commands.seed_demo import ensure_seed_gateway

    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_superuser("bench", email="")
    ensure_seed_gateway()
    policy = services.create_policy(policy_document(TARGETS), user=user, message="bench")
    return policy.pk, Token.objects.create(user=user).key


def start_gunicorn(port: int, env: dict[str, str], workdir: Path) -> subprocess.Popen[bytes]:
    """gunicorn with 2 sync workers on 127.0.0.1:port, ready when the floor answers."""
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "console.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        "2",
        "--log-level",
        "warning",
        "--chdir",
        str(ROOT),
    ]
    log = (workdir / "gunicorn.log").open("wb")  # NB: gunicorn writes it until it stops
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status = request_once(port, "GET", "/bench/floor/", None, {})[0]
            if status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    server.terminate()
    raise SystemExit(f"gunicorn did not start; see {workdir / 'gunicorn.log'}")


def request_once(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
    """One request on a fresh connection (used while waiting for the server)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def run_load(
    port: int, method: str, path: str, body: bytes | None, headers: dict[str, str], requests: int, threads: int
) -> tuple[float, list[float]]:
    """Send ``requests`` requests from ``threads`` threads; returns (wall seconds, latencies)."""
    latencies: list[float] = []
    lock = threading.Lock()
    per_thread = requests // threads

    def worker() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        for _ in range(per_thread):
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{method} {path} answered {response.status}")
            mine.append(time.perf_counter() - started)
        connection.close()
        with lock:
            latencies.extend(mine)

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, latencies


def percentile(values: list[float], share: float) -> float:
    """The ``share`` quantile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def cases(policy_id: int, token: str) -> list[tuple[str, str, str, bytes | None, dict[str, str]]]:
    """(label, method, path, body, headers) of every measured operation."""
    from policies.core.yamlio import load_one
    from policies.seed import seed_text

    auth = {"Authorization": f"Token {token}"}
    posted = {**auth, "Content-Type": "application/json"}
    simulate = {
        "policies": [load_one(seed_text("scenario-2")).data],
        "source": {"namespace": "mytest", "labels": {"app": "sleep-a"}},
        "url": "http://httpbin.org/anything",
        "method": "GET",
        "meshMode": "REGISTRY_ONLY",
    }
    draft_simulate = {
        "source": {"namespace": "team-0", "labels": {"app": "client"}},
        "url": "http://svc-3.example.com/",
        "method": "GET",
    }
    return [
        ("floor: bare Django view", "GET", "/bench/floor/", None, {}),
        (
            f"GET manifests istio ({TARGETS} targets)",
            "GET",
            f"/api/v1/policies/{policy_id}/manifests/?target=istio",
            None,
            auth,
        ),
        ("POST simulate (scenario 2)", "POST", "/api/v1/simulate/", json.dumps(simulate).encode(), posted),
        (
            f"POST policy simulate ({TARGETS} targets)",
            "POST",
            f"/api/v1/policies/{policy_id}/simulate/",
            json.dumps(draft_simulate).encode(),
            posted,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000, help="requests per operation (default 3000)")
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds per operation (default 6)")
    parser.add_argument("--threads", type=int, default=4, help="client threads (default 4)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="egress-bench-api-") as tmp:
        workdir = Path(tmp)
        env = bench_environment(workdir)
        os.environ.update(env)
        policy_id, token = prepare_database()
        port = free_port()
        server = start_gunicorn(port, env, workdir)
        try:
            workers = worker_pids(server.pid)
            measured = cases(policy_id, token)
            print(
                f"gunicorn 2 sync workers on 127.0.0.1:{port}; {args.requests} requests per operation "
                f"in {args.rounds} interleaved rounds from {args.threads} threads; load average "
                + " ".join(f"{value:.2f}" for value in os.getloadavg())
            )
            report(measure(port, workers, measured, args.requests, args.rounds, args.threads))
        finally:
            server.terminate()
            server.wait(timeout=10)


@dataclass
class Measured:
    """One operation's best round and all its latencies."""

    label: str
    best_rate: float = 0.0
    latencies: list[float] = field(default_factory=list)
    cpu_seconds: float = 0.0
    requests: int = 0


def measure(
    port: int, workers: list[int], measured: list[Any], requests: int, rounds: int, threads: int
) -> list[Measured]:
    """Warm every operation up, then run ``rounds`` interleaved rounds of each."""
    per_round = max(threads, requests // rounds)
    results = [Measured(case[0]) for case in measured]
    for _label, method, path, body, headers in measured:
        run_load(port, method, path, body, headers, max(threads * 10, per_round // 4), threads)
    for _ in range(rounds):
        for result, (_label, method, path, body, headers) in zip(results, measured, strict=True):
            cpu_before = cpu_seconds(workers)
            wall, latencies = run_load(port, method, path, body, headers, per_round, threads)
            result.cpu_seconds += cpu_seconds(workers) - cpu_before
            result.best_rate = max(result.best_rate, len(latencies) / wall)
            result.latencies.extend(latencies)
            result.requests += len(latencies)
    return results


def worker_pids(master: int) -> list[int]:
    """The gunicorn workers of a master process (empty where ``/proc`` does not say)."""
    try:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    except OSError:
        return []
    return [int(pid) for pid in children]


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds the processes have used so far (0 where ``/proc`` is missing)."""
    ticks = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def report(results: list[Measured]) -> None:
    """One line per operation; the first one is the floor."""
    print(f"{'operation':42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs floor':>9} {'server CPU ms/req':>18}")
    floor = results[0].best_rate
    for result in results:
        share = result.best_rate / floor
        verdict = "" if result is results[0] else f"{share:8.0%}{' ok' if share >= TARGET_SHARE else ' LOW'}"
        cpu = f"{result.cpu_seconds * 1000 / result.requests:18.3f}" if result.cpu_seconds else f"{'n/a':>18}"
        print(
            f"{result.label:42} {result.best_rate:8.0f} {percentile(result.latencies, 0.5) * 1000:8.2f} "
            f"{percentile(result.latencies, 0.99) * 1000:8.2f} {verdict:>9} {cpu}"
        )
    print(f"target: every API operation >= {TARGET_SHARE:.0%} of the floor's requests/s (best of the rounds)")


if __name__ == "__main__":
    main()
