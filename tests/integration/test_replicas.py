"""Several replicas (issue 12, item 3): two gunicorn servers on one PostgreSQL agree at once.

Nothing that decides correctness lives in one process: drafts and their versions, tokens,
sessions, sign-in failures and API throttle counters are rows in PostgreSQL, and the in-process
caches are keyed by content (a stored draft's text, a request body), never by an id whose row
may change. So whatever is done through one replica holds on the other on its very next request.
Both servers run ``scripts/serve.sh`` (DEBUG=0, gunicorn) on their own 127.0.0.1 port.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from tests.fixtures.postgres import fresh_database
from tests.fixtures.server import Served, console_env, login_attempt, manage, serve, signed_in

pytestmark = pytest.mark.postgres
BOT_PASSWORD = "bot-password-for-replicas"
RATE = 10  # NB: API requests per minute and user, on both replicas together


@dataclass
class Replicas:
    """Two served consoles on one database, and API tokens of two more users, ``bot`` and ``retired``."""

    a: Served
    b: Served
    bot_token: str
    retired_token: str


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicas]:
    """One pair for the module (starting a server takes a while); each test works with its own user."""
    tmp_path = tmp_path_factory.mktemp("replicas")
    with fresh_database("egress_replicas") as database:
        env_a = console_env(tmp_path / "a", database, WORKERS="1", THREADS="4", API_THROTTLE_USER=f"{RATE}/minute")
        env_b = {**env_a, "STATIC_ROOT": str(tmp_path / "b" / "static"), "PORT": console_env(tmp_path, "")["PORT"]}
        (tmp_path / "a").mkdir()
        (tmp_path / "b").mkdir()
        with serve(env_a, tmp_path / "a") as a, serve(env_b, tmp_path / "b") as b:
            create_bot = (
                "from django.contrib.auth import get_user_model; "
                f"get_user_model().objects.create_user('bot', password='{BOT_PASSWORD}')"
            )
            manage(env_a, "shell", "-c", create_bot + "; get_user_model().objects.create_user('retired')")
            bot_token = manage(env_a, "drf_create_token", "bot").split()[2]
            retired_token = manage(env_a, "drf_create_token", "retired").split()[2]
            yield Replicas(a, b, bot_token, retired_token)


def token_session(token: str) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    return session


def test_two_replicas_on_one_database_agree_at_once(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    [policy] = a.api().get(f"{a.url}/api/v1/policies/", timeout=60).json()
    path = f"/api/v1/policies/{policy['id']}/"
    # given both replicas have read the draft (and warmed whatever they keep in memory)
    before_a, before_b = a.api().get(a.url + path, timeout=60), b.api().get(b.url + path, timeout=60)
    assert before_a.headers["ETag"] == before_b.headers["ETag"]
    stale = before_b.headers["ETag"]

    # when a draft is saved through replica A
    patch = {"metadata": {"labels": {"saved-through": "replica-a"}}}
    headers = {"If-Match": stale, "Content-Type": "application/merge-patch+json"}
    saved = a.api().patch(a.url + path, json=patch, headers=headers, timeout=60)
    assert saved.status_code == 200, saved.text
    # then replica B serves it at once, with its new version
    seen = b.api().get(b.url + path, timeout=60)
    assert seen.json()["metadata"]["labels"]["saved-through"] == "replica-a"
    assert seen.headers["ETag"] == saved.headers["ETag"] != stale
    # and B's rendered manifests follow the saved draft, not a copy it rendered before
    manifests = b.api().get(f"{b.url}{path}manifests/?target=asm", timeout=60).text
    assert "saved-through: replica-a" in manifests

    # when a save through B still names the version both had read
    patch_b = {"metadata": {"labels": {"saved-through": "replica-b"}}}
    refused = b.api().patch(b.url + path, json=patch_b, headers=headers, timeout=60)
    # then it is refused as stale, and nothing changed
    assert refused.status_code == 412, refused.text
    assert [e["code"] for e in refused.json()["errors"]] == ["precondition_failed"]
    assert a.api().get(a.url + path, timeout=60).json()["metadata"]["labels"]["saved-through"] == "replica-a"


def test_throttle_counts_and_sign_in_failures_are_shared_by_the_replicas(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    # NB: counts are per minute; start early in a minute so the window cannot roll over mid-test
    if time.time() % 60 > 40:
        time.sleep(61 - time.time() % 60)
    bot = token_session(replicas.bot_token)
    # when the bot spends its rate half on each replica
    spent = [bot.get(f"{served.url}/api/v1/gateways/", timeout=60).status_code for served in (a, b) * (RATE // 2)]
    assert spent == [200] * RATE
    # then both refuse the next request, each naming when to retry
    for served in (a, b):
        over = bot.get(f"{served.url}/api/v1/gateways/", timeout=60)
        assert over.status_code == 429 and 1 <= int(over.headers["Retry-After"]) <= 60
    # and failed sign-ins on A lock the user out of B too
    assert [login_attempt(a.url, "bot", "wrong")[1].status_code for _ in range(5)] == [200, 200, 200, 200, 429]
    assert login_attempt(b.url, "bot", BOT_PASSWORD)[1].status_code == 429


def test_a_token_revoked_through_one_replica_is_refused_by_the_other(replicas: Replicas) -> None:
    a, b = replicas.a, replicas.b
    retired = token_session(replicas.retired_token)
    # given a user's token works on replica B
    assert retired.get(f"{b.url}/api/v1/policies/", timeout=60).status_code == 200
    # when an administrator deletes it in the admin of replica A
    admin = signed_in(a.url)
    tokens = admin.get(f"{a.url}/admin/authtoken/tokenproxy/", timeout=60).text
    [user_id] = re.findall(rf'href="/admin/authtoken/tokenproxy/(\d+)/change/">{replicas.retired_token}<', tokens)
    delete = f"{a.url}/admin/authtoken/tokenproxy/{user_id}/delete/"
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', admin.get(delete, timeout=60).text)
    assert csrf is not None
    gone = admin.post(delete, data={"post": "yes", "csrfmiddlewaretoken": csrf[1]}, headers={"Referer": delete})
    assert gone.status_code == 200 and "was deleted successfully" in gone.text
    # then replica B refuses it on the very next request
    refused = retired.get(f"{b.url}/api/v1/policies/", timeout=60)
    assert refused.status_code == 401
    assert [e["code"] for e in refused.json()["errors"]] == ["authentication_failed"]


def logged_lines(served: Served, request_id: str) -> list[dict[str, Any]]:
    """The JSON log lines of one request in a server's log (waiting a little: gunicorn logs after answering)."""
    deadline = time.monotonic() + 10
    while True:
        lines = [json.loads(line) for line in served.log.read_text().splitlines() if line.startswith("{")]
        mine = [line for line in lines if line.get("request_id") == request_id]
        if len(mine) >= 2 or time.monotonic() > deadline:
            return mine
        time.sleep(0.2)


def test_each_request_is_logged_as_json_lines_with_its_request_id(replicas: Replicas) -> None:
    # given a production server (DEBUG=0: JSON logs) / when a request is refused (404, logged as a warning)
    b = replicas.b
    refused = b.api().get(f"{b.url}/api/v1/policies/424242/", timeout=60)
    assert refused.status_code == 404
    # then its warning and its access line are JSON lines carrying the request id the response did
    lines = logged_lines(b, refused.headers["X-Request-ID"])
    by_logger = {line["logger"]: line for line in lines}
    assert by_logger["django.request"]["message"] == "Not Found: /api/v1/policies/424242/"
    assert by_logger["django.request"]["level"] == "WARNING"
    assert '"GET /api/v1/policies/424242/ HTTP/1.1" 404' in by_logger["gunicorn.access"]["message"]
    # and nothing in the whole log carries a token
    assert replicas.bot_token not in b.log.read_text() and b.token not in b.log.read_text()
