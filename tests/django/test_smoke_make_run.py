"""The `make run` path end to end, on whatever database is configured (the SQLite smoke set too).

One pass through what a new user does first: load the demo data, sign in, open the seed's
policy, render it, and ask the API and the CLI the seed's question about sleep-a.
"""

from __future__ import annotations

import io
import json

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from policies.models import EgressGateway, EgressPolicy
from policies.seed import seed_text

pytestmark = [pytest.mark.smoke, pytest.mark.django_db]


@pytest.fixture
def demo_data() -> str:
    """`manage.py seed_demo` output, with a known admin password."""
    out = io.StringIO()
    call_command("seed_demo", "--password", "s3cret-demo-pass", stdout=out)
    return out.getvalue()


def test_seed_demo_creates_the_seed_gateway_policy_and_admin(demo_data: str) -> None:
    # then the gateway has the seed's ports and its policy is scenario 2, revision 1
    gateway = EgressGateway.objects.get(name="egressgateway")
    assert [(p.number, p.protocol) for p in gateway.ports.all()] == [(80, "HTTP"), (443, "HTTPS"), (444, "HTTPS")]
    policy = EgressPolicy.objects.get(gateway=gateway)
    assert policy.name == "egress-by-egressgateway"
    assert [r.number for r in policy.revisions.all()] == [1]
    assert "Admin user: admin  password: s3cret-demo-pass" in demo_data


def test_seed_demo_is_idempotent(demo_data: str) -> None:
    # when it runs a second time / then nothing is duplicated and the password is kept
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert EgressPolicy.objects.count() == 1
    assert "already exists (password unchanged)" in out.getvalue()


def test_signed_in_user_reaches_the_seed_policy_editor(demo_data: str, client) -> None:
    # given the printed credentials / when signing in and opening the policy
    assert client.login(username="admin", password="s3cret-demo-pass")
    response = client.get("/policies/egress-by-egressgateway/")
    # then the editor shows the seed's targets
    assert response.status_code == 200
    assert b"httpbin-service-https" in response.content


def test_anonymous_visitors_are_sent_to_sign_in(demo_data: str, client) -> None:
    response = client.get("/gateways/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_api_simulates_the_seed_question_against_the_draft(demo_data: str) -> None:
    # given an API token for the admin
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=get_user_model().objects.get(username='admin')).key}"
    )
    policy = EgressPolicy.objects.get()
    # when sleep-a asks for http://httpbin.org/anything
    body = {"source": {"namespace": "mytest", "labels": {"app": "sleep-a"}}, "url": "http://httpbin.org/anything"}
    response = client.post(f"/api/v1/policies/{policy.pk}/simulate/", body, format="json")
    # then the gateway upgraded it to TLS on 443
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["upstream"]) == (200, "https://httpbin.org:443/anything")


def test_cli_render_and_simulate_agree_with_the_seed(tmp_path) -> None:
    # given the seed's scenario-2 file
    policy_file = tmp_path / "scenario-2.yaml"
    policy_file.write_text(seed_text("scenario-2"))
    # when rendering for ASM / then the canonical CR comes back unchanged
    out = io.StringIO()
    call_command("egress", "render", str(policy_file), "--target", "asm", stdout=out)
    assert out.getvalue() == seed_text("scenario-2")
    # when nginx in default asks / then its sidecar answers 502
    out = io.StringIO()
    call_command(
        "egress",
        "simulate",
        str(policy_file),
        "--source",
        "default:app=nginx",
        "--url",
        "http://httpbin.org/",
        "--json",
        stdout=out,
    )
    assert json.loads(out.getvalue())["status"] == 502
