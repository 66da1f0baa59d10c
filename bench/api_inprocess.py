"""Per-request cost of the API in process: the WSGI handler called directly, no server, no sockets.

``bench/api.py`` measures throughput under gunicorn, where client threads, the kernel and two
workers share the machine's cores, so its figures move with the machine's load. This script calls
Django's WSGI application in a loop with the same requests (same settings, same throwaway
database, same floor view) and prints the milliseconds each one costs, which is the number to
watch while optimising a view. ``--profile LABEL`` prints a cProfile of one operation instead.

Prints figures, asserts nothing.

Run: ``.venv/bin/python bench/api_inprocess.py [--requests 2000] [--profile manifests [--sort tottime]]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.api import bench_environment, cases, prepare_database  # noqa: E402


def wsgi_environ(method: str, path: str, body: bytes | None, headers: dict[str, str]) -> dict[str, Any]:
    """The environ gunicorn would pass for this request (a fresh body stream each time)."""
    parts = urlsplit(path)
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": parts.path,
        "QUERY_STRING": parts.query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body or b""),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body or b"")),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ


def call(application: Any, method: str, path: str, body: bytes | None, headers: dict[str, str]) -> str:
    """One request through the WSGI application; returns the status line."""
    seen: list[str] = []
    result = application(wsgi_environ(method, path, body, headers), lambda status, _headers: seen.append(status))
    b"".join(result)
    result.close()
    return seen[0]


def per_request_ms(application: Any, case: tuple[Any, ...], requests: int, rounds: int = 5) -> float:
    """Milliseconds per request of one operation after a warm-up: the best of ``rounds`` rounds.

    The best round is the one least disturbed by other work on the machine.
    """
    _label, method, path, body, headers = case
    for _ in range(max(20, requests // 10)):
        status = call(application, method, path, body, headers)
        if not status.startswith("200"):
            raise SystemExit(f"{method} {path} answered {status}")
    per_round = max(1, requests // rounds)
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(per_round):
            call(application, method, path, body, headers)
        best = min(best, (time.perf_counter() - started) * 1000 / per_round)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per operation (default 2000)")
    parser.add_argument("--profile", metavar="WORD", help="profile the first operation whose label has WORD")
    parser.add_argument("--sort", default="cumulative", help="profile order: cumulative (default), tottime, ...")
    parser.add_argument("--lines", type=int, default=25, help="profile lines to print (default 25)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="egress-bench-api-") as tmp:
        os.environ.update(bench_environment(Path(tmp)))
        policy_id, token = prepare_database()
        from django.core.wsgi import get_wsgi_application

        application = get_wsgi_application()
        measured = cases(policy_id, token)
        if args.profile:
            case = next(c for c in measured if args.profile in c[0])
            profile(application, case, args.requests, args.sort, args.lines)
        else:
            report(application, measured, args.requests)


def report(application: Any, measured: list[tuple[Any, ...]], requests: int) -> None:
    """One line per operation: ms per request, and the extra over the floor."""
    print(f"in-process WSGI calls, {requests} requests per operation (best of 5 rounds)")
    print(f"{'operation':42} {'ms/req':>8} {'over floor':>11}")
    floor = None
    for case in measured:
        cost = per_request_ms(application, case, requests)
        floor = floor if floor is not None else cost
        print(f"{case[0]:42} {cost:8.3f} {cost - floor:+11.3f}")


def profile(application: Any, case: tuple[Any, ...], requests: int, order: str, lines: int) -> None:
    """cProfile of one operation: the ``lines`` most expensive functions in ``order``."""
    per_request_ms(application, case, 50, rounds=1)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(requests):
        call(application, *case[1:])
    profiler.disable()
    pstats.Stats(profiler).sort_stats(order).print_stats(lines)


if __name__ == "__main__":
    main()
