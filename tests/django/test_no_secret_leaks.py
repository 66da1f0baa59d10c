"""No credential leaks (issue 12, item 7): answers and log lines never carry a secret.

A representative session drives the API with the tokens of two users (reads, renders, simulations,
every kind of refusal), the console (sign-in failures and successes, pages, the admin's cluster
records, a 404), and a cluster verb whose kubeconfig holds a bearer token and a client key,
against a server that refuses the connection. Every response body and header, and every line the
console's log handler writes, is then searched for the other user's token (any token, in fact),
each password, each kubeconfig credential and the SECRET_KEY.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from policies import services
from policies.management.commands.seed_demo import ensure_seed_gateway
from policies.models import Cluster
from tests.fixtures.api import WRITE_PERMISSIONS, seed_cr

pytestmark = pytest.mark.django_db
OWNER_PASSWORD = "owner-Passw0rd-never-echoed"
READER_PASSWORD = "reader-Passw0rd-never-echoed"
KUBE_TOKEN = "kube-bearer-token-a6d1f0c3e9b84f27"
KUBE_KEY = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nkube-client-key-material-5e2c\n").decode()
LOGGERS = ("django.request", "django.security", "policies", "axes")


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the console's configured log handler writes (after its masking filter and formatter)."""
    handler = next(h for h in logging.getLogger("django.request").handlers if isinstance(h, logging.StreamHandler))
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    levels = {name: logging.getLogger(name).level for name in LOGGERS}
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)  # NB: every line the code writes, not only warnings
    yield buffer
    handler.setStream(previous)
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


@pytest.fixture
def people() -> dict[str, Any]:
    """Two users with passwords and tokens: an owner who may write, and a reader."""
    owner = get_user_model().objects.create_superuser("owner", password=OWNER_PASSWORD)
    owner.user_permissions.set(Permission.objects.filter(codename__in=WRITE_PERMISSIONS))
    reader = get_user_model().objects.create_user("reader", password=READER_PASSWORD)
    return {"owner": Token.objects.create(user=owner).key, "reader": Token.objects.create(user=reader).key}


def api_as(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def api_requests(client: APIClient, policy_id: int) -> list[Any]:
    """Reads, renders, a simulation and every kind of refusal the API gives."""
    url = f"/api/v1/policies/{policy_id}/"
    cr = seed_cr("2")
    return [
        client.get("/api/v1/policies/"),
        client.get(url, HTTP_ACCEPT="application/yaml"),
        client.get(f"{url}manifests/?target=istio"),
        client.post(
            f"{url}simulate/", {"source": {"namespace": "mytest"}, "url": "http://httpbin.org/get"}, format="json"
        ),
        client.put(url, cr, format="json"),  # 428 (or 403 for the reader)
        client.put(url, cr, format="json", HTTP_IF_MATCH='"999"'),  # 412
        client.post("/api/v1/validate/", "{not json", content_type="application/json"),  # 400
        client.post("/api/v1/validate/", "x", content_type="text/plain"),  # 415
        client.get("/api/v1/policies/999999/"),  # 404
        client.delete(url, HTTP_IF_MATCH='"999"'),  # 412 or 403
    ]


def console_requests() -> list[Any]:
    """Sign-in failures and successes on the console and the admin, pages, the clusters' admin, a 404."""
    browser = Client()
    answers = [
        browser.get("/accounts/login/"),
        browser.post("/accounts/login/", {"username": "owner", "password": READER_PASSWORD}),
        browser.post("/admin/login/", {"username": "reader", "password": OWNER_PASSWORD}),
        browser.post("/accounts/login/", {"username": "owner", "password": OWNER_PASSWORD}),
    ]
    cluster = Cluster.objects.get(name="prod")
    for path in ("/gateways/", "/policies/", "/policies/egress-by-egressgateway/", "/import/", "/no-such-page/"):
        answers.append(browser.get(path))
    answers.append(browser.get("/admin/policies/cluster/"))
    answers.append(browser.get(f"/admin/policies/cluster/{cluster.pk}/change/"))
    return answers


def kubeconfig(folder: Path) -> Path:
    """A kubeconfig for a server that refuses connections (a closed port here), with a token and a client key."""
    path = folder / "kubeconfig"
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [{"name": "u", "user": {"token": KUBE_TOKEN, "client-key-data": KUBE_KEY}}],
                "contexts": [{"name": "main", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "main",
            }
        )
    )
    return path


def cluster_verb(folder: Path) -> str:
    """``egress diff`` of the seed policy against the unreachable cluster: its output (it fails)."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(SystemExit):
        call_command(
            "egress", "diff", "--policy", "egress-by-egressgateway", "--cluster", "prod", stdout=out, stderr=err
        )
    return out.getvalue() + err.getvalue()


def text_of(response: Any) -> str:
    headers = "\n".join(f"{name}: {value}" for name, value in response.items())
    cookies = response.cookies.output()
    return f"{response.status_code}\n{headers}\n{cookies}\n{response.content.decode(errors='replace')}"


def test_no_answer_or_log_line_carries_a_token_password_kube_credential_or_secret_key(
    people: dict[str, Any], log_lines: io.StringIO, tmp_path: Path
) -> None:
    # given a stored policy, a cluster record whose kubeconfig holds credentials, and two users
    ensure_seed_gateway()
    owner = get_user_model().objects.get(username="owner")
    policy = services.create_policy(seed_cr("2"), user=owner, message="seed")
    Cluster.objects.create(name="prod", kubeconfig_path=str(kubeconfig(tmp_path)))
    # when each user drives the API, someone uses the console, and a cluster verb fails to connect
    as_owner = [text_of(r) for r in api_requests(api_as(people["owner"]), policy.pk)]
    as_reader = [text_of(r) for r in api_requests(api_as(people["reader"]), policy.pk)]
    wrong_token = api_as(people["reader"][:-4] + "0000").get("/api/v1/policies/")
    console = [text_of(r) for r in [*console_requests(), wrong_token]]
    cli_output = cluster_verb(tmp_path)
    logs = log_lines.getvalue()
    # then the requests really ran: each user was answered, refusals included, and lines were logged
    assert {a.split("\n", 1)[0] for a in as_owner} >= {"200", "400", "404", "412", "415", "428"}
    assert {a.split("\n", 1)[0] for a in as_reader} >= {"200", "403"}
    assert wrong_token.status_code == 401 and "Unauthorized: /api/v1/policies/" in logs
    assert "Not Found: /api/v1/policies/999999/" in logs
    assert "Cannot reach the API server (connection refused)" in cli_output
    # and none of them carries a secret, whoever asked
    secrets = {
        "owner's token": people["owner"],
        "reader's token": people["reader"],
        "owner's password": OWNER_PASSWORD,
        "reader's password": READER_PASSWORD,
        "kubeconfig token": KUBE_TOKEN,
        "kubeconfig client key": KUBE_KEY,
        "SECRET_KEY": settings.SECRET_KEY,
    }
    places = {"owner's answers": as_owner, "reader's answers": as_reader, "console answers": console}
    places |= {"log lines": [logs], "cluster verb output": [cli_output]}
    leaks = [
        f"{secret} in {place}"
        for place, texts in places.items()
        for secret, value in secrets.items()
        if any(value in text for text in texts)
    ]
    assert leaks == []
