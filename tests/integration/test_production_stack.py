"""Issue 12, item 1 (b): the docker-compose stack, run without Docker on the suite's PostgreSQL.

No Docker engine runs here, so tests/fixtures/stack.py plays compose's part with the same files:
the web service's environment is read from docker-compose.yml and interpolated from .env.example
(test values for the secrets, and 127.0.0.1 for the ``db`` host), the static files are collected
as the Dockerfile's build does (DEBUG=0), gunicorn runs the Dockerfile's CMD (bound to 127.0.0.1
instead of 0.0.0.0) and the ``migrate`` service's command migrates. Then it is driven over HTTP
like a browser and a script would: sign in, open the editor with its hashed static files served
by whitenoise, preview, save, and the API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.fixtures.console import SEED_POLICY, scenario_document
from tests.fixtures.postgres import fresh_database
from tests.fixtures.server import ADMIN_PASSWORD, REPO, manage, signed_in
from tests.fixtures.stack import Stack, migrate, web_service

pytestmark = pytest.mark.postgres


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    """gunicorn as the image runs it, on a fresh, empty database (``migrate`` has not run yet)."""
    with fresh_database("egress_stack") as database_url, web_service(database_url, tmp_path) as served:
        yield served


def post_json(browser: requests.Session, url: str, body: dict[str, object]) -> requests.Response:
    """POST JSON the way the editor's scripts do (CSRF token from the cookie, in X-CSRFToken)."""
    return browser.post(url, json=body, headers={"X-CSRFToken": browser.cookies["csrftoken"]}, timeout=60)


def test_the_web_service_is_live_at_once_and_ready_only_after_migrate(stack: Stack) -> None:
    # given gunicorn serving before the migrate service has run
    # then it is live, but not ready: the probes say why
    assert requests.get(f"{stack.url}/healthz", timeout=30).json() == {"status": "ok"}
    refused = requests.get(f"{stack.url}/readyz", timeout=30)
    assert refused.status_code == 503
    assert [e["code"] for e in refused.json()["errors"]] == ["migrations_pending"]
    assert (stack.probe("/healthz"), stack.probe("/readyz")) == (0, 1)
    # when the migrate service runs
    migrate(stack)
    # then the same process is ready, without a restart
    assert requests.get(f"{stack.url}/readyz", timeout=30).json() == {"status": "ready"}
    assert stack.probe("/readyz") == 0


def test_sign_in_edit_preview_save_and_the_api_with_static_files_from_whitenoise(stack: Stack) -> None:
    # given the migrated database, the demo data and an API token (`docker compose run web python manage.py ...`)
    migrate(stack)
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
