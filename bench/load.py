"""Load benchmark (issue 12, item 6): many signed-in clients against the production stack at once.

Starts what docker-compose runs, without Docker (``tests/fixtures/stack.py``): a PostgreSQL
cluster of its own on 127.0.0.1, the Dockerfile's gunicorn command with DEBUG=0 and the compose
file's environment, the ``migrate`` service and ``manage.py seed_demo``. The demo users (admin,
editor, viewer, approver, operator) sign in through the login form and get API tokens; then
``--clients`` threads, each with its own keep-alive sessions and one of those users, send a mix
of what people and scripts do, for ``--duration`` seconds after a ``--warmup`` whose figures are
dropped:

- page views: the gateway list and the policy editor;
- the editor's live preview and its simulate endpoint, with the draft's document;
- ``POST /api/v1/simulate/``;
- draft saves through the editor (its ``version``) and the API (``If-Match``), by the users who
  may write; each carries a change of its own on the version the client last read, so saves race:
  200 and 412 (someone saved first; the client re-reads) are both correct answers;
- API reads: the policy list and the draft with its ETag.

Each client waits a random think time (exponential, mean ``--think`` seconds) between requests,
as a person or a polling script does; ``--think 0`` measures saturation instead. An error is any
other status, a timeout or a refused connection. Prints requests/s, p50/p95/p99 per kind and
overall, the errors (with the first few), the server log's error lines and the load average.

Target: 0 errors and p99 <= 300 ms with 50 clients on a 2-core machine. Prints figures only.

Run: ``.venv/bin/python bench/load.py [--clients 50] [--duration 60] [--think 0.5] [--workers N --threads N]``
"""

from __future__ import annotations

import argparse
import copy
import itertools
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.fixtures.server import manage, signed_in
from tests.fixtures.stack import DemoStack, demo_stack

POLICY = "egress-by-egressgateway"
GATEWAY = "egressgateway"
WRITERS = frozenset({"admin", "editor"})
SOURCE = {"namespace": "mytest", "labels": {"app": "sleep-a"}}
URLS = ("http://httpbin.org/anything", "https://www.httpbin.org/get", "http://example.com/")
REQUEST_TIMEOUT = 30.0
ERROR_EXAMPLES = 5
# NB: the console's JSON lines, and gunicorn's own plain lines from before the logging is configured
SERVER_ERROR = re.compile(r'"level": "(ERROR|CRITICAL)"|\[(ERROR|CRITICAL)\]|Traceback')


@dataclass(frozen=True)
class Identity:
    """A demo user as the clients use it: the signed-in session's cookies and an API token."""

    username: str
    cookies: requests.cookies.RequestsCookieJar
    token: str


@dataclass
class Sample:
    """One request: its kind, when it started (``time.monotonic``), how long it took, the answer."""

    kind: str
    at: float
    seconds: float
    status: int | None  # NB: None when no answer came (timeout, refused connection)
    error: str = ""


@dataclass
class LoadResult:
    """Every measured request, the measured wall time and the clients' configuration."""

    samples: list[Sample]
    duration: float
    clients: int
    think: float

    def errors(self) -> list[Sample]:
        return [sample for sample in self.samples if sample.error]

    def by_kind(self) -> dict[str, list[Sample]]:
        kinds: dict[str, list[Sample]] = defaultdict(list)
        for sample in self.samples:
            kinds[sample.kind].append(sample)
        return dict(sorted(kinds.items()))


class Client:
    """One simulated user: a browser session, an API session, and the draft version it last saw."""

    def __init__(self, url: str, identity: Identity, number: int) -> None:
        # NB: seeded by the client's number, so a run's request mix can be replayed; nothing here is a secret.
        self.url, self.identity, self.number, self.rng = url, identity, number, random.Random(number)  # noqa: S311
        self.browser = requests.Session()
        self.browser.cookies = identity.cookies.copy()
        self.api = requests.Session()
        self.api.headers["Authorization"] = f"Token {identity.token}"
        self.policy_id = 0
        self.document: dict[str, Any] = {}
        self.version = 0
        self.saves = 0

    def close(self) -> None:
        self.browser.close()
        self.api.close()

    def actions(self) -> dict[str, tuple[int, Callable[[], requests.Response]]]:
        """The mix: kind → (weight, request). Saves only for the users who may write."""
        mix: dict[str, tuple[int, Callable[[], requests.Response]]] = {
            "page: gateway list": (10, lambda: self.page("/gateways/")),
            "page: policy editor": (10, lambda: self.page(f"/policies/{POLICY}/")),
            "preview": (20, self.preview),
            "simulate: console": (10, self.simulate_console),
            "simulate: API": (10, self.simulate_api),
            "API read": (25, self.read_api),
        }
        if self.identity.username in WRITERS:
            mix["save: console"] = (8, self.save_console)
            mix["save: API"] = (7, self.save_api)
        return mix

    def page(self, path: str) -> requests.Response:
        return self.browser.get(f"{self.url}{path}", timeout=REQUEST_TIMEOUT)

    def read_api(self) -> requests.Response:
        """An API read: now and then the policy list, mostly the draft."""
        return self.read_list() if self.rng.random() < 0.3 else self.read_draft()

    def read_list(self) -> requests.Response:
        answer = self.api.get(f"{self.url}/api/v1/policies/", timeout=REQUEST_TIMEOUT)
        if answer.status_code == 200:
            self.policy_id = answer.json()[0]["id"]
        return answer

    def read_draft(self) -> requests.Response:
        """The draft with its ETag: the document and version this client's next save starts from."""
        answer = self.api.get(f"{self.url}/api/v1/policies/{self.policy_id}/", timeout=REQUEST_TIMEOUT)
        if answer.status_code == 200:
            self.document, self.version = answer.json(), int(answer.headers["ETag"].strip('"'))
        return answer

    def preview(self) -> requests.Response:
        return self.post_json(f"/gateways/{GATEWAY}/preview/", {"document": self.document})

    def simulate_console(self) -> requests.Response:
        body = {"document": self.document, **SOURCE, "url": self.rng.choice(URLS), "method": "GET"}
        return self.post_json(f"/gateways/{GATEWAY}/simulate/", body)

    def simulate_api(self) -> requests.Response:
        body = {"policies": [self.document], "source": SOURCE, "url": self.rng.choice(URLS)}
        return self.api.post(f"{self.url}/api/v1/simulate/", json=body, timeout=REQUEST_TIMEOUT)

    def save_console(self) -> requests.Response:
        """The editor's save: the document with this client's change, on the version it last read."""
        body = {"document": self.changed_document(), "version": self.version}
        answer = self.post_json(f"/policies/{POLICY}/save/", body)
        if answer.status_code == 200:
            self.version = answer.json()["version"]
        return answer

    def save_api(self) -> requests.Response:
        """A merge-patch of this client's change, with the version it last read in If-Match."""
        headers = {"If-Match": f'"{self.version}"', "Content-Type": "application/merge-patch+json"}
        patch = {"metadata": {"labels": self.change()}}
        url = f"{self.url}/api/v1/policies/{self.policy_id}/"
        answer = self.api.patch(url, json=patch, headers=headers, timeout=REQUEST_TIMEOUT)
        if answer.status_code == 200:
            self.version = int(answer.headers["ETag"].strip('"'))
        return answer

    def change(self) -> dict[str, str]:
        """A label no other save carries: which client, its how-manieth save."""
        self.saves += 1
        return {"load-client": str(self.number), "load-save": str(self.saves)}

    def changed_document(self) -> dict[str, Any]:
        document = copy.deepcopy(self.document)
        document["metadata"]["labels"] = {**document["metadata"].get("labels", {}), **self.change()}
        return document

    def post_json(self, path: str, body: dict[str, Any]) -> requests.Response:
        """POST JSON as the editor's scripts do (CSRF token from the cookie, in X-CSRFToken)."""
        headers = {"X-CSRFToken": self.browser.cookies["csrftoken"]}
        return self.browser.post(f"{self.url}{path}", json=body, headers=headers, timeout=REQUEST_TIMEOUT)


def expected_statuses(kind: str) -> frozenset[int]:
    """A save may find the draft moved on (412); everything else must succeed."""
    return frozenset({200, 412}) if kind.startswith("save") else frozenset({200})


def timed(kind: str, send: Callable[[], requests.Response]) -> Sample:
    """Send one request; its kind, duration, status and, if it is not a correct answer, why."""
    started = time.monotonic()
    try:
        answer = send()
    except Exception as exc:  # NB: a refused connection, a timeout, an answer the client cannot read: all errors
        return Sample(kind, started, time.monotonic() - started, None, f"{type(exc).__name__}: {exc}")
    seconds = time.monotonic() - started
    if answer.status_code not in expected_statuses(kind):
        return Sample(kind, started, seconds, answer.status_code, f"HTTP {answer.status_code}: {answer.text[:300]}")
    return Sample(kind, started, seconds, answer.status_code)


def drive(client: Client, record: Callable[[Sample], None], stop: threading.Event, think: float) -> None:
    """One client's loop until ``stop``: read the draft, send every kind of its mix once, then kinds at random."""
    mix = client.actions()
    kinds, weights = list(mix), [weight for weight, _send in mix.values()]
    record(timed("API read", client.read_list))  # NB: for the policy's id,
    record(timed("API read", client.read_draft))  # and the document and version to start from
    # NB: every kind once first, so that even a short run covers the whole mix
    for kind in itertools.chain(kinds, iter(lambda: client.rng.choices(kinds, weights)[0], None)):
        if stop.is_set():
            return
        sample = timed(kind, mix[kind][1])
        record(sample)
        if sample.status == 412:  # NB: someone saved first: read the draft again, as the editor's reload does
            record(timed("API read", client.read_draft))
        if think > 0:
            stop.wait(min(client.rng.expovariate(1 / think), 10 * think))


def run_load(
    url: str, identities: list[Identity], *, clients: int, duration: float, think: float, warmup: float = 0.0
) -> LoadResult:
    """``clients`` threads (identities taken in turn) for ``warmup`` + ``duration`` seconds; the measured part."""
    samples: list[Sample] = []
    measuring = threading.Event()

    def record(sample: Sample) -> None:
        if measuring.is_set():
            samples.append(sample)  # NB: list.append is atomic under the GIL

    stop = threading.Event()
    users = [Client(url, identities[i % len(identities)], i) for i in range(clients)]
    threads = [threading.Thread(target=drive, args=(user, record, stop, think)) for user in users]
    for thread in threads:
        thread.start()
    try:
        time.sleep(warmup)
        measuring.set()
        started = time.monotonic()
        time.sleep(duration)
    finally:  # NB: on Ctrl-C too: the clients stop before the server does
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
        for user in users:
            user.close()  # NB: idle keep-alive connections would hold gunicorn's graceful stop
    measuring.clear()
    return LoadResult(samples, time.monotonic() - started, clients, think)


def demo_identities(stack: DemoStack) -> list[Identity]:
    """Every demo user signed in once through the login form, and an API token for each."""
    script = (
        "from django.contrib.auth import get_user_model; from rest_framework.authtoken.models import Token\n"
        f"for user in get_user_model().objects.filter(username__in={sorted(stack.passwords)!r}):\n"
        "    print(user.username, Token.objects.get_or_create(user=user)[0].key)"
    )
    tokens = dict(line.split() for line in manage(stack.web.env, "shell", "--no-imports", "-c", script).splitlines())
    identities = []
    for username, password in sorted(stack.passwords.items()):
        session = signed_in(stack.web.url, username, password)
        identities.append(Identity(username, session.cookies, tokens[username]))
    return identities


def server_cpu_seconds(processes: list[int]) -> float:
    """CPU time (user + system) these processes (gunicorn's master and workers) have used so far."""
    total = 0
    for process in processes:
        fields = Path(f"/proc/{process}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # NB: utime and stime, fields 14 and 15 of stat(5)
    return total / os.sysconf("SC_CLK_TCK")


def client_cpu_seconds() -> float:
    """CPU time (user + system) this process, the load generator, has used so far."""
    times = os.times()
    return times.user + times.system


def percentile(seconds: list[float], share: int) -> float:
    """The ``share``-th percentile in milliseconds (inclusive method; the value itself for one sample)."""
    if len(seconds) == 1:
        return seconds[0] * 1000
    return statistics.quantiles(seconds, n=100, method="inclusive")[share - 1] * 1000


def report(result: LoadResult, server_log: Path) -> list[str]:
    """The figures as printed lines."""
    lines = [
        f"{'kind':<22}{'requests':>9}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'errors':>8}"
    ]
    rows = [*result.by_kind().items(), ("overall", result.samples)]
    for kind, samples in rows:
        seconds = [sample.seconds for sample in samples]
        errors = sum(1 for sample in samples if sample.error)
        lines.append(
            f"{kind:<22}{len(samples):>9}{len(samples) / result.duration:>8.1f}{percentile(seconds, 50):>9.0f}"
            f"{percentile(seconds, 95):>9.0f}{percentile(seconds, 99):>9.0f}{max(seconds) * 1000:>9.0f}{errors:>8}"
        )
    statuses = Counter(sample.status for sample in result.samples if sample.kind.startswith("save"))
    lines.append(f"saves: {statuses[200]} landed, {statuses[412]} refused as stale (412, a correct answer)")
    lines.extend(f"error: {sample.kind}: {sample.error}" for sample in result.errors()[:ERROR_EXAMPLES])
    log_errors = [line for line in server_log.read_text().splitlines() if SERVER_ERROR.search(line)]
    lines.append(f"server log: {len(log_errors)} error lines")
    lines.extend(f"  {line[:200]}" for line in log_errors[:ERROR_EXAMPLES])
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=5.0, help="seconds of load before measuring (dropped)")
    parser.add_argument("--think", type=float, default=0.5, help="mean seconds between a client's requests")
    parser.add_argument("--workers", type=int, help="gunicorn workers (default: the Dockerfile's CMD)")
    parser.add_argument("--threads", type=int, help="gunicorn threads per worker (default: the Dockerfile's CMD)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # NB: the set-up lines show while the run goes on
    pool = {name: value for name, value in (("workers", args.workers), ("threads", args.threads)) if value}
    with tempfile.TemporaryDirectory(prefix="egress-load-") as folder, demo_stack(Path(folder), **pool) as stack:
        identities = demo_identities(stack)
        print(
            f"load: {args.clients} clients x {args.duration:.0f} s (think {args.think} s, warm-up {args.warmup:.0f} s)"
        )
        print(f"server: the Dockerfile's gunicorn command {pool or '(its workers and threads)'}, PostgreSQL, DEBUG=0")
        print(f"load average before: {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
        cpu_before, client_before = server_cpu_seconds(stack.web.processes()), client_cpu_seconds()
        result = run_load(
            stack.web.url,
            identities,
            clients=args.clients,
            duration=args.duration,
            think=args.think,
            warmup=args.warmup,
        )
        cpu, client = server_cpu_seconds(stack.web.processes()) - cpu_before, client_cpu_seconds() - client_before
        print(f"load average after:  {' '.join(f'{load:.2f}' for load in os.getloadavg())}")
        print("\n".join(report(result, stack.web.log)))
        # NB: CPU time is what the other processes on the machine do not move, unlike the latencies.
        busy = args.warmup + result.duration
        per_request = cpu * 1000 / busy / (len(result.samples) / result.duration)
        print(f"server CPU: {cpu / busy:.2f} cores busy, ~{per_request:.1f} ms a request")
        print(f"client CPU: {client / busy:.2f} cores busy (the load generator itself, on the same machine)")


if __name__ == "__main__":
    main()
