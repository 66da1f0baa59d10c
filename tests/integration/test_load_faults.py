"""Issue 12, item 6: the production stack under load and faults, in a few seconds (``bench/load.py`` runs it long).

One stack for the module (``tests/fixtures/stack.py``): a PostgreSQL cluster of its own, which
these tests stop and start again, gunicorn as the Dockerfile runs it with the compose file's
environment (DEBUG=0), migrated and seeded with the demo users. The clients are the load
benchmark's: signed-in sessions and API tokens sending page views, previews, simulations, saves
and API reads. These tests assert correct answers, never timings; the figures are the
benchmark's.
"""

from __future__ import annotations

import itertools
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bench.load import Client, Identity, LoadResult, demo_identities, run_load
from policies.clusters import CHECK_RETRY
from tests.fixtures.clusters import kubeconfig_text
from tests.fixtures.server import free_port
from tests.fixtures.stack import DemoStack, demo_stack

pytestmark = pytest.mark.postgres
SAVERS = 8
MAX_ATTEMPTS = 50
TIMEOUT = 60
MARGIN = 5  # NB: seconds a loaded machine may add to a check's own timeouts


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStack]:
    with demo_stack(tmp_path_factory.mktemp("load-faults")) as started:
        yield started


@pytest.fixture(scope="module")
def identities(stack: DemoStack) -> list[Identity]:
    return demo_identities(stack)


def user(identities: list[Identity], name: str) -> Identity:
    return next(identity for identity in identities if identity.username == name)


def worker_pids(stack: DemoStack) -> set[int]:
    """gunicorn's master and worker processes now (a restarted worker has a new pid)."""
    children = Path(f"/proc/{stack.web.pid}/task/{stack.web.pid}/children").read_text().split()
    return {stack.web.pid, *map(int, children)}


def test_ten_clients_mixing_every_kind_of_request_get_no_error(stack: DemoStack, identities: list[Identity]) -> None:
    # when ten clients send the benchmark's mix for a few seconds
    result = run_load(stack.web.url, identities, clients=10, duration=4, think=0.05)
    # then every answer was a correct one: 200, or 412 for a save that lost its race
    assert [sample.error for sample in result.errors()] == []
    kinds = set(result.by_kind())
    assert {"page: gateway list", "page: policy editor", "preview", "simulate: console", "simulate: API"} <= kinds
    assert {"API read", "save: console", "save: API"} <= kinds
    assert any(sample.status == 200 for sample in result.samples if sample.kind.startswith("save"))
    assert "Traceback" not in stack.web.log.read_text()


@dataclass(frozen=True)
class SaveAttempt:
    """One save: who, on which version and labels it read, and what it got (``version`` when it landed)."""

    client: int
    base_version: int
    base_labels: dict[str, str]
    labels: dict[str, str]
    status: int
    version: int | None


def save_until_landed(client: Client, start: threading.Barrier) -> list[SaveAttempt]:
    """Read the draft, wait for the others, then save this client's change; on 412 read again and retry."""
    client.read_list()
    client.read_draft()
    start.wait(timeout=TIMEOUT)
    attempts: list[SaveAttempt] = []
    save = client.save_console if client.number % 2 else client.save_api
    while len(attempts) < MAX_ATTEMPTS:
        base_version, base_labels = client.version, client.document["metadata"].get("labels", {})
        answer = save()
        landed = answer.status_code == 200
        attempts.append(
            SaveAttempt(
                client.number,
                base_version,
                base_labels,
                {"load-client": str(client.number), "load-save": str(client.saves)},
                answer.status_code,
                client.version if landed else None,
            )
        )
        if answer.status_code != 412:
            return attempts
        assert client.read_draft().status_code == 200
    return attempts


def test_concurrent_saves_of_one_draft_each_land_on_the_last_or_get_412(
    stack: DemoStack, identities: list[Identity]
) -> None:
    # given SAVERS clients (editor and admin; half through the editor's form, half through the API) that
    # read the same draft version and then all save a change of their own at once
    writers = [user(identities, "editor"), user(identities, "admin")]
    clients = [Client(stack.web.url, writers[i % 2], i) for i in range(SAVERS)]
    start = threading.Barrier(SAVERS)
    with ThreadPoolExecutor(SAVERS) as pool:
        attempts = [a for found in pool.map(lambda c: save_until_landed(c, start), clients) for a in found]
    # then every answer was 200 or 412, and every client's change landed in the end
    assert {a.status for a in attempts} <= {200, 412}, attempts
    landed = sorted((a for a in attempts if a.status == 200), key=lambda a: a.version or 0)
    assert sorted(a.client for a in landed) == list(range(SAVERS))
    # exactly one save landed on the version they all read: the others were refused, not overwritten
    first_version = landed[0].base_version
    assert [a.base_version for a in attempts].count(first_version) == SAVERS
    assert [a.base_version for a in landed].count(first_version) == 1
    # each landed save made the next version, on the content the landed save before it wrote: none was lost
    assert [a.version for a in landed] == list(range(first_version + 1, first_version + SAVERS + 1))
    for before, after in itertools.pairwise(landed):
        assert (after.base_version, after.base_labels) == (before.version, before.labels)
    # and the draft is the last landed save
    reader = Client(stack.web.url, writers[0], SAVERS)
    reader.read_list()
    assert reader.read_draft().status_code == 200
    assert (reader.version, reader.document["metadata"]["labels"]) == (landed[-1].version, landed[-1].labels)


def assert_refused_cleanly(answer: requests.Response) -> None:
    assert (answer.status_code, answer.headers["Retry-After"]) == (503, "5"), answer.text[:500]
    assert "Traceback" not in answer.text and 'File "' not in answer.text


def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(0.2)


def is_ready(url: str) -> bool:
    return requests.get(f"{url}/readyz", timeout=TIMEOUT).status_code == 200


def test_postgresql_stopped_mid_run_gets_clean_503s_and_the_same_workers_recover(
    stack: DemoStack, identities: list[Identity]
) -> None:
    url, viewer = stack.web.url, user(identities, "viewer")
    browser, api = requests.Session(), requests.Session()
    browser.cookies, api.headers["Authorization"] = viewer.cookies.copy(), f"Token {viewer.token}"
    workers = worker_pids(stack)
    with ThreadPoolExecutor(1) as pool:
        # given five clients under way
        running = pool.submit(run_load, url, identities, clients=5, duration=15, think=0.05)
        time.sleep(2)
        # when PostgreSQL stops
        stopping = time.monotonic()
        stack.database.pause()
        try:
            # then the API answers 503 in its error shape, a console page the 503 page, the probes say why
            refused = api.get(f"{url}/api/v1/policies/", timeout=TIMEOUT)
            assert_refused_cleanly(refused)
            assert [e["code"] for e in refused.json()["errors"]] == ["database_unavailable"]
            page = browser.get(f"{url}/gateways/", timeout=TIMEOUT)
            assert_refused_cleanly(page)
            assert "The console cannot reach its database" in page.text
            not_ready = requests.get(f"{url}/readyz", timeout=TIMEOUT)
            assert_refused_cleanly(not_ready)
            assert [e["code"] for e in not_ready.json()["errors"]] == ["database_unavailable"]
            assert requests.get(f"{url}/healthz", timeout=TIMEOUT).status_code == 200
            time.sleep(2)
        finally:
            # and when it is back
            stack.database.resume()
        wait_until(lambda: is_ready(url), 30)
        ready = time.monotonic()
        result: LoadResult = running.result(timeout=TIMEOUT)
    # then the same gunicorn processes serve again: the API and the console answer 200
    assert api.get(f"{url}/api/v1/policies/", timeout=TIMEOUT).status_code == 200
    assert browser.get(f"{url}/gateways/", timeout=TIMEOUT).status_code == 200
    assert worker_pids(stack) == workers
    # the clients' requests failed only while it was down, and only with a clean 503
    failed = result.errors()
    assert failed, "no request of the clients met the outage"
    assert {(sample.status, "Traceback" in sample.error) for sample in failed} == {(503, False)}
    in_flight = [stopping < sample.at + sample.seconds and sample.at < ready for sample in failed]
    assert all(in_flight), [(sample.at - stopping, sample.seconds, sample.kind) for sample in failed]
    assert any(sample.at > ready and not sample.error for sample in result.samples)
    # NB: the outage is logged, with its traceback, for the operators; answers never carry one
    assert "Service Unavailable: /api/v1/" in stack.web.log.read_text()


@dataclass
class Timed:
    """An answer and how long it took."""

    answer: requests.Response
    seconds: float


def timed_post(session: requests.Session, url: str, **kwargs: object) -> Timed:
    started = time.monotonic()
    answer = session.post(url, timeout=TIMEOUT, **kwargs)
    return Timed(answer, time.monotonic() - started)


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A 127.0.0.1 port that takes TCP connections (the kernel's backlog) but never accepts nor answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


def register(api: requests.Session, url: str, name: str, kubeconfig: Path) -> None:
    body = {"name": name, "kubeconfigPath": str(kubeconfig), "context": "prod"}
    answer = api.post(f"{url}/api/v1/clusters/", json=body, timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text


def test_dead_and_black_holed_clusters_answer_within_the_checks_timeout_while_others_are_served(
    stack: DemoStack, identities: list[Identity], black_hole: int, tmp_path: Path
) -> None:
    # given two registered clusters: one on a closed port, one on a port that never answers
    url, admin = stack.web.url, user(identities, "admin")
    api, browser = requests.Session(), requests.Session()
    api.headers["Authorization"], browser.cookies = f"Token {admin.token}", admin.cookies.copy()
    for name, port in (("dead", free_port()), ("black-hole", black_hole)):
        (tmp_path / name).write_text(kubeconfig_text(server=f"https://127.0.0.1:{port}"))
        register(api, url, name, tmp_path / name)
    # when both are checked at once, through the API and through the console's button
    with ThreadPoolExecutor(2) as pool:
        dead = pool.submit(timed_post, api, f"{url}/api/v1/clusters/dead/check/")
        csrf = {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}
        console = f"{url}/clusters/black-hole/check/"
        hole = pool.submit(timed_post, browser, console, data=csrf, headers={"Referer": console}, allow_redirects=False)
        # then other requests are served meanwhile, one after another
        served = []
        while not hole.done():
            served.append(api.get(f"{url}/api/v1/policies/", timeout=TIMEOUT).status_code)
            time.sleep(0.2)
        dead_check, hole_check = dead.result(), hole.result()
    assert served and set(served) == {200}
    # and each check returned within the check's configured timeouts (plus a margin), with a clear error
    retry = CHECK_RETRY
    bound = retry.attempts * (retry.connect_timeout + retry.read_timeout) + (retry.attempts - 1) * retry.max_delay
    assert dead_check.seconds < retry.attempts * (retry.connect_timeout + retry.max_delay) + MARGIN
    assert retry.connect_timeout < hole_check.seconds < bound + MARGIN  # NB: the hole did hold it, and no longer
    assert dead_check.answer.status_code == 200
    assert (dead_check.answer.json()["check"]["reachable"], dead_check.answer.json()["check"]["error"]["code"]) == (
        False,
        "CLUSTER-E001",
    )
    assert (hole_check.answer.status_code, hole_check.answer.headers["Location"]) == (302, "/clusters/black-hole/")
    checked = api.get(f"{url}/api/v1/clusters/black-hole/", timeout=TIMEOUT).json()["check"]
    assert (checked["reachable"], checked["error"]["code"]) == (False, "CLUSTER-E001")
    assert re.search(r"timed out", checked["error"]["message"]), checked["error"]
