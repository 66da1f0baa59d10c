"""Issue 12, item 1 (b): the docker-compose stack, run without Docker on the suite's PostgreSQL.

No Docker engine runs here, so this test plays compose's part with the same files: the web
service's environment is read from docker-compose.yml and interpolated from .env.example (test
values for the secrets, and 127.0.0.1 for the ``db`` host), the static files are collected as the
Dockerfile's build does (DEBUG=0), gunicorn runs the Dockerfile's CMD (bound to 127.0.0.1 instead
of 0.0.0.0) and the ``migrate`` service's command migrates. Then it is driven over HTTP like a
browser and a script would: sign in, open the editor with its hashed static files served by
whitenoise, preview, save, and the API.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests.fixtures.compose import load_compose, read_dotenv, service_environment
from tests.fixtures.console import SEED_POLICY, scenario_document
from tests.fixtures.postgres import fresh_database
from tests.fixtures.server import ADMIN_PASSWORD, REPO, free_port, manage, running, signed_in

pytestmark = pytest.mark.postgres
BIN = Path(sys.executable).parent


@dataclass
class Stack:
    """The running web service: its URL, its environment (as compose would give it) and its log."""

    url: str
    env: dict[str, str]
    log: Path

    def probe(self, path: str) -> int:
        """Exit code of the image's health check command (``python -m console.probe PATH``)."""
        command = [sys.executable, "-m", "console.probe", path]
        return subprocess.run(command, cwd=REPO, env=self.env, capture_output=True, timeout=30).returncode


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh, empty database on the suite's PostgreSQL cluster: its name; dropped afterwards."""
    with fresh_database("egress_stack") as url:
        yield url.rsplit("/", 1)[1]


def compose_environment(service: str, database: str, port: int) -> dict[str, str]:
    """What compose gives ``service`` from .env.example, with test secrets and the suite's PostgreSQL as ``db``."""
    suite = urlsplit(os.environ["DATABASE_URL"])
    variables = {
        **read_dotenv(),
        "SECRET_KEY": secrets.token_urlsafe(50),
        "POSTGRES_PASSWORD": "unused-the-suite-cluster-trusts-loopback",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": str(suite.port),
        "POSTGRES_USER": suite.username or "egress",
        "POSTGRES_DB": database,
        "ALLOWED_HOSTS": "127.0.0.1",
        "CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{port}",
        "HTTPS_ONLY": "0",  # NB: no TLS proxy in front on loopback; .env.example's 1 redirects to https
    }
    return service_environment(service, variables)


def process_environment(compose_env: dict[str, str], static_root: Path, port: int) -> dict[str, str]:
    """This machine's PATH and the like, the Dockerfile's ENV, then the compose environment on top."""
    inherited = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_", "DATABASE_"))}
    dockerfile_env = {"DEBUG": "0", "STATIC_ROOT": str(static_root), "PORT": str(port), "PYTHONUNBUFFERED": "1"}
    return {**inherited, **dockerfile_env, **compose_env}


def dockerfile_cmd(port: int) -> list[str]:
    """The final image's CMD, bound to 127.0.0.1:``port`` and run with this virtualenv's gunicorn."""
    cmd_lines = [line for line in (REPO / "Dockerfile").read_text().splitlines() if line.startswith("CMD ")]
    command = json.loads(cmd_lines[-1].removeprefix("CMD "))
    bind = command.index("--bind") + 1
    assert command[bind] == "0.0.0.0:8000"
    command[bind] = f"127.0.0.1:{port}"
    return [str(BIN / command[0]), *command[1:]]


@pytest.fixture
def stack(tmp_path: Path, database: str) -> Iterator[Stack]:
    """gunicorn as the image runs it, on an empty database (``migrate`` has not run yet)."""
    port = free_port()
    env = process_environment(compose_environment("web", database, port), tmp_path / "static", port)
    build_env = {**env, "SECRET_KEY": "build-time-only-not-a-runtime-secret"}
    manage(build_env, "collectstatic", "--noinput", "-v0")
    log = tmp_path / "gunicorn.log"
    url = f"http://127.0.0.1:{port}"
    with running(dockerfile_cmd(port), env, log, url):
        yield Stack(url, env, log)


def migrate(stack: Stack, database: str) -> None:
    """The compose file's one-shot ``migrate`` service: its command in its environment."""
    port = int(urlsplit(stack.url).port or 0)
    env = {**stack.env, **compose_environment("migrate", database, port), "SECRET_KEY": stack.env["SECRET_KEY"]}
    command = load_compose()["services"]["migrate"]["command"]
    assert command[:2] == ["python", "manage.py"]
    manage(env, *command[2:])


def post_json(browser: requests.Session, url: str, body: dict[str, object]) -> requests.Response:
    """POST JSON the way the editor's scripts do (CSRF token from the cookie, in X-CSRFToken)."""
    return browser.post(url, json=body, headers={"X-CSRFToken": browser.cookies["csrftoken"]}, timeout=60)


def test_the_web_service_is_live_at_once_and_ready_only_after_migrate(stack: Stack, database: str) -> None:
    # given gunicorn serving before the migrate service has run
    # then it is live, but not ready: the probes say why
    assert requests.get(f"{stack.url}/healthz", timeout=30).json() == {"status": "ok"}
    refused = requests.get(f"{stack.url}/readyz", timeout=30)
    assert refused.status_code == 503
    assert [e["code"] for e in refused.json()["errors"]] == ["migrations_pending"]
    assert (stack.probe("/healthz"), stack.probe("/readyz")) == (0, 1)
    # when the migrate service runs
    migrate(stack, database)
    # then the same process is ready, without a restart
    assert requests.get(f"{stack.url}/readyz", timeout=30).json() == {"status": "ready"}
    assert stack.probe("/readyz") == 0


def test_sign_in_edit_preview_save_and_the_api_with_static_files_from_whitenoise(stack: Stack, database: str) -> None:
    # given the migrated database, the demo data and an API token (`docker compose run web python manage.py ...`)
    migrate(stack, database)
    manage(stack.env, "seed_demo", "--password", ADMIN_PASSWORD)
    token = manage(stack.env, "drf_create_token", "admin").split()[2]
    # when an anonymous visitor opens a page, they are sent to sign in
    first = requests.get(f"{stack.url}/gateways/", timeout=30, allow_redirects=False)
    assert (first.status_code, first.headers["Location"]) == (302, "/accounts/login/?next=/gateways/")
    browser = signed_in(stack.url)

    # the editor page links hashed static files, which whitenoise serves compressed and cacheable for ever
    editor = browser.get(f"{stack.url}/policies/{SEED_POLICY}/", timeout=30)
    assert editor.status_code == 200
    scripts = re.findall(r'src="(/static/policies/js/editor\.[0-9a-f]{12}\.js)"', editor.text)
    assert len(scripts) == 1, editor.text[:2000]
    static = requests.get(f"{stack.url}{scripts[0]}", headers={"Accept-Encoding": "gzip"}, timeout=30)
    assert static.status_code == 200
    assert static.headers["Content-Encoding"] == "gzip"
    assert "immutable" in static.headers["Cache-Control"]
    assert static.text == (REPO / "static/policies/js/editor.js").read_text()

    # the live preview of an edit: namespace 'other' instead of 'mytest'
    document = scenario_document("2")
    document["spec"]["egressRules"][0]["from"][0]["namespace"] = "other"
    preview = post_json(browser, f"{stack.url}/gateways/egressgateway/preview/", {"document": document})
    assert (preview.status_code, preview.json()["ok"]) == (200, True)
    assert "namespace: other" in preview.json()["yaml"]

    # save it as the next draft version
    saved = post_json(browser, f"{stack.url}/policies/{SEED_POLICY}/save/", {"document": document, "version": 1})
    assert saved.json() == {"version": 2, "message": "Draft saved as version 2."}

    # the API sees the saved draft, and takes a write with its ETag
    api = requests.Session()
    api.headers["Authorization"] = f"Token {token}"
    [policy] = api.get(f"{stack.url}/api/v1/policies/", timeout=30).json()
    url = f"{stack.url}/api/v1/policies/{policy['id']}/"
    draft = api.get(url, timeout=30)
    assert draft.json()["spec"]["egressRules"][0]["from"][0]["namespace"] == "other"
    patch = {"metadata": {"labels": {"team": "platform"}}}
    headers = {"If-Match": draft.headers["ETag"], "Content-Type": "application/merge-patch+json"}
    assert api.patch(url, json=patch, headers=headers, timeout=30).status_code == 200
    assert api.patch(url, json=patch, headers=headers, timeout=30).status_code == 412
    assert api.get(url, timeout=30).json()["metadata"]["labels"] == {"team": "platform"}

    # and nothing went wrong on the server's side
    assert "Traceback" not in stack.log.read_text()
