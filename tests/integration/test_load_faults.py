"""Issue 12, item 6: the production stack under load and faults; the short variant of ``bench/load.py``.

One stack for the module (``tests/fixtures/stack.py``): a PostgreSQL cluster of its own, which
these tests stop and start again, gunicorn as the Dockerfile runs it with the compose file's
environment (DEBUG=0), migrated and seeded with the demo users. The clients are the load
benchmark's: signed-in sessions and API tokens sending page views, previews, simulations, saves
and API reads. These tests assert correct answers, never speed (the figures are the benchmark's);
the only durations asserted are upper bounds that the configured cluster timeouts promise.
"""

from __future__ import annotations

import itertools
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bench.load import Client, Identity, LoadResult, demo_identities, run_load
from policies.cluster.transport import RetryPolicy
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
    """One save: who, on which version and labels it read, the labels it wrote, the answer (and new version)."""

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
                {**base_labels, "load-client": str(client.number), "load-save": str(client.saves)},
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
    workers = sorted(stack.web.processes())
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
    assert sorted(stack.web.processes()) == workers
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


def timed(session: requests.Session, method: str, url: str, **kwargs: object) -> Timed:
    started = time.monotonic()
    answer = session.request(method, url, timeout=TIMEOUT, **kwargs)
    return Timed(answer, time.monotonic() - started)


def worst_case(retry: RetryPolicy) -> float:
    """The longest a transport with ``retry`` may wait on a cluster: every attempt timing out, every pause."""
    return retry.attempts * (retry.connect_timeout + retry.read_timeout) + (retry.attempts - 1) * retry.max_delay


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A 127.0.0.1 port that takes TCP connections (the kernel's backlog) but never accepts nor answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield listener.getsockname()[1]


@pytest.fixture
def silent_tls(tmp_path: Path) -> Iterator[int]:
    """A 127.0.0.1 port that completes the TLS handshake, then never answers: a hung API server behind its TLS."""
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1"]
    subprocess.run([*command, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    stop, held = threading.Event(), list[ssl.SSLSocket]()
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        listener.settimeout(0.2)
        holder = threading.Thread(target=hold_connections, args=(listener, context, stop, held))
        holder.start()
        yield listener.getsockname()[1]
        stop.set()
        holder.join(timeout=10)
    for connection in held:
        connection.close()


def hold_connections(
    listener: socket.socket, context: ssl.SSLContext, stop: threading.Event, held: list[ssl.SSLSocket]
) -> None:
    """Accept, complete each TLS handshake, keep the connection and never write to it, until ``stop``."""
    while not stop.is_set():
        try:
            connection, _address = listener.accept()
        except TimeoutError:
            continue
        connection.settimeout(10)
        try:
            held.append(context.wrap_socket(connection, server_side=True))
        except (OSError, ssl.SSLError):  # NB: a client that gave up during the handshake
            connection.close()


def register(api: requests.Session, url: str, folder: Path, name: str, port: int) -> str:
    """A cluster ``name`` whose kubeconfig points at https://127.0.0.1:``port``, registered through the API."""
    (folder / name).write_text(kubeconfig_text(server=f"https://127.0.0.1:{port}"))
    body = {"name": name, "kubeconfigPath": str(folder / name), "context": "prod"}
    answer = api.post(f"{url}/api/v1/clusters/", json=body, timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text
    return name


def serve_meanwhile(api: requests.Session, url: str, pending: list[Future[Timed]]) -> list[int]:
    """Other requests, one after another, until every pending one is done: their statuses."""
    served = []
    while not all(future.done() for future in pending):
        served.append(api.get(f"{url}/api/v1/policies/", timeout=TIMEOUT).status_code)
        time.sleep(0.2)
    return served


def sessions(identity: Identity) -> tuple[requests.Session, requests.Session]:
    """An API session (token) and a browser session (signed-in cookies) of ``identity``."""
    api, browser = requests.Session(), requests.Session()
    api.headers["Authorization"], browser.cookies = f"Token {identity.token}", identity.cookies.copy()
    return api, browser


def test_dead_and_black_holed_clusters_are_checked_within_the_checks_timeout_while_others_are_served(
    stack: DemoStack, identities: list[Identity], black_hole: int, silent_tls: int, tmp_path: Path
) -> None:
    # given three registered clusters: on a closed port, on a port that never answers, and behind a silent TLS
    url = stack.web.url
    api, browser = sessions(user(identities, "admin"))
    dead = register(api, url, tmp_path, "check-dead", free_port())
    hole = register(api, url, tmp_path, "check-black-hole", black_hole)
    silent = register(api, url, tmp_path, "check-silent", silent_tls)
    # when all are checked at once, through the API and through the console's button
    console = f"{url}/clusters/{hole}/check/"
    form = {"data": {"csrfmiddlewaretoken": browser.cookies["csrftoken"]}, "headers": {"Referer": console}}
    with ThreadPoolExecutor(3) as pool:
        checks = [
            pool.submit(timed, api, "POST", f"{url}/api/v1/clusters/{dead}/check/"),
            pool.submit(timed, browser, "POST", console, allow_redirects=False, **form),
            pool.submit(timed, api, "POST", f"{url}/api/v1/clusters/{silent}/check/"),
        ]
        # then other requests are served meanwhile
        assert set(serve_meanwhile(api, url, checks)) == {200}
    dead_check, hole_check, silent_check = (check.result() for check in checks)
    # and each check returned within the check's configured timeouts (plus a margin), with a clear error
    retry = CHECK_RETRY
    assert dead_check.seconds < retry.attempts * (retry.connect_timeout + retry.max_delay) + MARGIN
    assert retry.connect_timeout < hole_check.seconds < worst_case(retry) + MARGIN  # NB: the hole held it
    assert retry.attempts * retry.read_timeout < silent_check.seconds < worst_case(retry) + MARGIN
    assert (hole_check.answer.status_code, hole_check.answer.headers["Location"]) == (302, f"/clusters/{hole}/")
    for name, reason in ((dead, "connection refused"), (hole, "timed out"), (silent, "read timed out")):
        checked = api.get(f"{url}/api/v1/clusters/{name}/", timeout=TIMEOUT).json()["check"]
        assert (checked["reachable"], checked["error"]["code"]) == (False, "CLUSTER-E001"), checked
        assert reason in checked["error"]["message"], checked["error"]
    assert (dead_check.answer.status_code, dead_check.answer.json()["check"]["reachable"]) == (200, False)


def test_a_reviews_plan_on_dead_and_black_holed_clusters_answers_within_the_transports_timeout(
    stack: DemoStack, identities: list[Identity], black_hole: int, tmp_path: Path
) -> None:
    # given a review of a change (the editor saves and submits it) and two unreachable clusters
    url = stack.web.url
    editor = Client(url, user(identities, "editor"), SAVERS + 1)
    editor.read_list()
    editor.read_draft()
    assert editor.save_api().status_code == 200
    submitted = editor.api.post(f"{url}/api/v1/policies/{editor.policy_id}/submit/", json={"message": "plan"})
    assert submitted.status_code == 201, submitted.text
    api, _browser = sessions(user(identities, "admin"))
    names = [
        register(api, url, tmp_path, "plan-dead", free_port()),
        register(api, url, tmp_path, "plan-black-hole", black_hole),
    ]
    # when the review's plan on each (its live diff) is asked for at once
    diff = f"{url}/api/v1/reviews/{submitted.json()['id']}/diff/"
    with ThreadPoolExecutor(2) as pool:
        plans = [pool.submit(timed, api, "GET", diff, params={"against": "live", "cluster": name}) for name in names]
        # then other requests are served meanwhile
        assert set(serve_meanwhile(api, url, plans)) == {200}
    # and each report answers, within the cluster transport's timeouts, with the plan's error in place of a plan
    # NB: a plan connects with the transport's default policy (4 attempts of 5 s): the black hole holds it ~22 s
    for plan in (future.result() for future in plans):
        assert plan.answer.status_code == 200, plan.answer.text[:500]
        assert plan.answer.json()["plan"]["error"]["code"] == "CLUSTER-E001"
        assert plan.seconds < worst_case(RetryPolicy()) + MARGIN
