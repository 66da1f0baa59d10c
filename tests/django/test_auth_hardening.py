"""Authentication hardening (issue 12, item 4): sign-in lockout, API throttles, passwords, sessions, SSO."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.test import override_settings
from rest_framework.test import APIClient

from console.throttling import TABLE
from tests.fixtures.api import errors_of

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture
def operator(django_user_model):
    return django_user_model.objects.create_superuser("operator", password=PASSWORD)


def sign_in(client, path: str, password: str, username: str = "operator"):
    return client.post(path, {"username": username, "password": password, "next": "/"})


class TestLockout:
    def test_failures_below_the_limit_leave_signing_in_open(self, client, operator) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            assert sign_in(client, LOGIN, "wrong").status_code == 200
        assert sign_in(client, LOGIN, PASSWORD).status_code == 302

    def test_after_the_limit_even_the_right_password_gets_429_with_retry_after(self, client, operator) -> None:
        # given as many failed sign-ins as the limit allows
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, LOGIN, "wrong")
        # when signing in with the right password
        answer = sign_in(client, LOGIN, PASSWORD)
        # then the console refuses, says why and for how long
        assert answer.status_code == 429
        assert answer["Retry-After"] == str(15 * 60)
        assert "Too many failed sign-in attempts. Try again in 15 minutes." in answer.content.decode()
        assert "_auth_user_id" not in client.session

    def test_failures_on_the_console_lock_the_admin_sign_in_too(self, client, operator) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, LOGIN, "wrong")
        assert sign_in(client, ADMIN_LOGIN, PASSWORD).status_code == 429

    def test_admin_failures_count_as_well(self, client, operator) -> None:
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, ADMIN_LOGIN, "wrong")
        assert sign_in(client, LOGIN, PASSWORD).status_code == 429

    def test_another_user_is_not_locked_out(self, client, operator, django_user_model) -> None:
        django_user_model.objects.create_user("other", password=PASSWORD)
        for _ in range(settings.AXES_FAILURE_LIMIT):
            sign_in(client, LOGIN, "wrong")
        assert sign_in(client, LOGIN, PASSWORD, username="other").status_code == 302

    def test_behind_a_trusted_proxy_the_forwarded_address_is_the_client(self, client, operator) -> None:
        # given one trusted proxy: one client's failures lock that client out, not everyone behind the proxy
        with override_settings(TRUSTED_PROXY_COUNT=1):
            for _ in range(settings.AXES_FAILURE_LIMIT):
                client.post(LOGIN, {"username": "operator", "password": "x"}, HTTP_X_FORWARDED_FOR="203.0.113.9")
            locked = client.post(
                LOGIN, {"username": "operator", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="203.0.113.9"
            )
            other = client.post(
                LOGIN, {"username": "operator", "password": PASSWORD}, HTTP_X_FORWARDED_FOR="198.51.100.7"
            )
        assert (locked.status_code, other.status_code) == (429, 302)


LOW_RATES = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "3/minute"}}


class TestApiThrottles:
    @override_settings(REST_FRAMEWORK=LOW_RATES)
    def test_requests_over_the_rate_get_429_in_the_error_shape_with_retry_after(self, api_client, editor) -> None:
        # when a user sends one request more than the rate allows
        answers = [api_client.get("/api/v1/policies/") for _ in range(4)]
        # then the first three are answered and the fourth is refused, saying when to retry
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        [error] = errors_of(answers[-1])
        assert error["code"] == "throttled" and error["message"].startswith("Request was throttled.")
        assert 1 <= int(answers[-1]["Retry-After"]) <= 60

    @override_settings(REST_FRAMEWORK=LOW_RATES)
    def test_each_user_has_their_own_count(self, api_client, reader_client) -> None:
        for _ in range(3):
            api_client.get("/api/v1/policies/")
        assert api_client.get("/api/v1/policies/").status_code == 429
        assert reader_client.get("/api/v1/policies/").status_code == 200

    @override_settings(REST_FRAMEWORK=LOW_RATES)
    def test_the_count_lives_in_the_database_shared_by_every_process(self, api_client, editor) -> None:
        from django.db import connection

        api_client.get("/api/v1/policies/")
        api_client.get("/api/v1/policies/")
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT client, count FROM {TABLE}")
            rows = cursor.fetchall()
        assert rows == [(f"throttle_user_{editor.pk}", 2)]

    def test_the_default_rates_leave_ordinary_automation_alone(self, api_client) -> None:
        assert {api_client.get("/api/v1/policies/").status_code for _ in range(50)} == {200}

    def test_the_schema_is_not_throttled(self) -> None:
        with override_settings(REST_FRAMEWORK=LOW_RATES):
            assert {APIClient().get("/api/schema/").status_code for _ in range(5)} == {200}


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-pw", "This password is too short. It must contain at least 12 characters."),
        ("password1234", "This password is too common."),
        ("920183746501928", "This password is entirely numeric."),
        ("operator-admin", "The password is too similar to the username."),
    ],
)
def test_weak_passwords_are_refused(password: str, message: str, django_user_model) -> None:
    user = django_user_model(username="operator-admin")
    with pytest.raises(ValidationError) as refused:
        validate_password(password, user)
    assert message in refused.value.messages


def test_a_strong_password_passes_every_validator(django_user_model) -> None:
    validate_password("granite-velvet-orbit-42", django_user_model(username="operator"))


def test_a_session_lasts_a_working_day_and_ends_with_the_browser(client, operator) -> None:
    # when signing in
    assert sign_in(client, LOGIN, PASSWORD).status_code == 302
    # then the session expires on the server after 8 hours and its cookie with the browser
    assert client.session.get_expiry_age() == 8 * 3600
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == ""


class TestSingleSignOnOff:
    def test_sso_is_off_by_default_and_adds_nothing(self) -> None:
        assert settings.OIDC_ENABLED is False
        assert "mozilla_django_oidc" not in settings.INSTALLED_APPS
        assert settings.AUTHENTICATION_BACKENDS == [
            "console.lockout.LockoutBackend",
            "django.contrib.auth.backends.ModelBackend",
        ]

    def test_the_login_page_offers_no_sso_and_its_urls_do_not_exist(self, client, operator) -> None:
        assert "single sign-on" not in client.get(LOGIN).content.decode()
        client.force_login(operator)
        assert client.get("/oidc/authenticate/").status_code == 404
        assert client.get("/oidc/callback/").status_code == 404


SSO_ON = """
import django, json
django.setup()
from django.conf import settings
from django.core.management import call_command
from django.test import Client
call_command("migrate", verbosity=0)
client = Client(HTTP_HOST="127.0.0.1")
page = client.get("/accounts/login/").content.decode()
start = client.get("/oidc/authenticate/")
print(json.dumps({"backends": settings.AUTHENTICATION_BACKENDS, "link": 'href="/oidc/authenticate/' in page,
                  "status": start.status_code, "location": start.get("Location", "")}))
"""


def test_with_sso_on_the_login_page_links_to_the_identity_provider(tmp_path: Path) -> None:
    # given the variables of README's Keycloak example
    realm = "https://sso.example.com/realms/platform/protocol/openid-connect"
    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    env.update(
        DJANGO_SETTINGS_MODULE="console.settings",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        OIDC_ENABLED="1",
        OIDC_RP_CLIENT_ID="egress-console",
        OIDC_RP_CLIENT_SECRET="client-secret-from-keycloak",
        OIDC_OP_AUTHORIZATION_ENDPOINT=f"{realm}/auth",
        OIDC_OP_TOKEN_ENDPOINT=f"{realm}/token",
        OIDC_OP_USER_ENDPOINT=f"{realm}/userinfo",
        OIDC_OP_JWKS_ENDPOINT=f"{realm}/certs",
    )
    # when the console starts and a signed-out visitor opens the login page and follows its SSO link
    result = subprocess.run(
        [sys.executable, "-c", SSO_ON], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    seen = json.loads(result.stdout)
    # then the OIDC backend is behind the lockout, the page links to SSO, and the link redirects to the provider
    assert seen["backends"][-1] == "mozilla_django_oidc.auth.OIDCAuthenticationBackend"
    assert seen["link"] is True
    assert seen["status"] == 302
    assert seen["location"].startswith(f"{realm}/auth?") and "client_id=egress-console" in seen["location"]
