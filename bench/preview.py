"""Prints the live-preview latency for a 50-target policy and the weight of each console page.

Budgets (issue 4): the preview request answers in ≤ 50 ms p95 on this machine, and a page's
HTML + CSS + JS weighs ≤ 200 KB. The requests go through Django's full stack (middleware,
session, CSRF-exempt test client) against a throwaway SQLite database, so the figures include
everything but the network.

Run: .venv/bin/python bench/preview.py [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DB = Path(tempfile.mkdtemp(prefix="egress-bench-")) / "bench.sqlite3"
os.environ["DATABASE_URL"] = f"sqlite:///{DB}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.staticfiles import finders  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from policies import services  # noqa: E402
from policies.management.commands.seed_demo import ensure_seed_gateway  # noqa: E402
from tests.fixtures.console import SEED_POLICY, policy_with_targets  # noqa: E402

PREVIEW_BUDGET_MS = 50
PAGE_BUDGET_KB = 200
ASSET = re.compile(r'(?:href|src)="/static/([^"]+\.(?:css|js))"')


def setup_data(targets: int) -> Client:
    """A database with the seed gateway, a policy of ``targets`` targets and a signed-in client."""
    call_command("migrate", verbosity=0)
    ensure_seed_gateway()
    user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
    services.create_policy(policy_with_targets(targets), user=user, message="bench")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def edited_document(targets: int, edit: int) -> dict:
    """The ``targets``-target policy after ``edit`` keystrokes: one host name differs each time, as in typing."""
    document = policy_with_targets(targets)
    target = [to for rule in document["spec"]["egressRules"] for to in rule["to"]][edit % targets]
    target["hosts"] = [f"edit-{edit}.example.com"]
    return document


def time_previews(client: Client, requests: int, targets: int) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds per preview POST, each request a new edit (after a warm-up)."""
    wall, cpu = [], []
    for index in range(requests + 20):
        body = json.dumps({"document": edited_document(targets, index)})
        start, start_cpu = time.perf_counter(), time.process_time()
        response = client.post("/gateways/egressgateway/preview/", data=body, content_type="application/json")
        elapsed, elapsed_cpu = (time.perf_counter() - start) * 1000, (time.process_time() - start_cpu) * 1000
        assert response.status_code == 200 and response.json()["ok"], response.content[:500]
        if index >= 20:
            wall.append(elapsed)
            cpu.append(elapsed_cpu)
    return wall, cpu


def percentiles(timings: list[float]) -> tuple[float, float]:
    """(p50, p95) in milliseconds."""
    return statistics.median(timings), statistics.quantiles(timings, n=20)[18]


def page_weight(client: Client, url: str) -> tuple[int, int]:
    """(HTML bytes, CSS + JS bytes) of one page."""
    html = client.get(url).content
    assets = sum(Path(finders.find(path)).stat().st_size for path in set(ASSET.findall(html.decode())))
    return len(html), assets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--targets", type=int, default=50)
    args = parser.parse_args()
    client = setup_data(args.targets)
    wall, cpu = time_previews(client, args.requests, args.targets)
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall time suffers under load; CPU time less)")
    for label, timings in (("wall", wall), ("cpu ", cpu)):
        p50, p95 = percentiles(timings)
        verdict = "within" if p95 <= PREVIEW_BUDGET_MS else "OVER"
        print(
            f"preview {label}, {args.targets} targets, {args.requests} edits: "
            f"p50 {p50:.1f} ms  p95 {p95:.1f} ms  ({verdict} the {PREVIEW_BUDGET_MS} ms p95 budget)"
        )
    for url in [
        "/gateways/",
        "/gateways/egressgateway/",
        f"/policies/{SEED_POLICY}/",
        "/policies/",
        "/import/",
        f"/policies/{SEED_POLICY}/revisions/1/",
    ]:
        html, assets = page_weight(client, url)
        total = (html + assets) / 1024
        verdict = "ok" if total <= PAGE_BUDGET_KB else "OVER"
        weights = f"HTML {html / 1024:6.1f} KB + CSS/JS {assets / 1024:5.1f} KB = {total:6.1f} KB"
        print(f"page {url:<45} {weights}  ({verdict})")


if __name__ == "__main__":
    main()
