"""Production settings (issue 12, item 2): Django's deployment checklist, the CSP, JSON logs.

Settings are read from the environment once, at start-up, so each production check runs Django in
a subprocess with DEBUG=0 and that environment, as a server would start.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from console.logs import MASK, redact

REPO = Path(__file__).resolve().parents[2]
STRONG_KEY = secrets.token_urlsafe(50)


def production_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A DEBUG=0 environment on a throwaway SQLite database (nothing inherited but PATH and HOME)."""
    import os

    env = {key: os.environ[key] for key in ("PATH", "HOME") if key in os.environ}
    env.update(
        DEBUG="0",
        SECRET_KEY=STRONG_KEY,
        ALLOWED_HOSTS="egress.example.com",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        STATIC_ROOT=str(tmp_path / "static"),
        **extra,
    )
    return env


def run_django(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_check_deploy_finds_no_issue_with_debug_off_and_a_strong_key(tmp_path: Path) -> None:
    # when Django's deployment checklist runs as production would start
    result = run_django(production_env(tmp_path), "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    # then it passes without a single warning
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_warns_when_https_is_switched_off(tmp_path: Path) -> None:
    # given plain HTTP asked for (HTTPS_ONLY=0): no redirect, no Secure cookies, no HSTS
    env = production_env(tmp_path, HTTPS_ONLY="0")
    # when / then the checklist says what that gives up
    result = run_django(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 1
    for check in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert check in result.stderr


def test_debug_off_without_secret_key_refuses_to_start_and_says_why(tmp_path: Path) -> None:
    env = production_env(tmp_path)
    del env["SECRET_KEY"]
    result = run_django(env, "manage.py", "check")
    assert result.returncode == 1
    assert result.stderr.strip().endswith("SECRET_KEY must be set when DEBUG is off.")


def test_a_trusted_proxy_header_is_read_from_the_environment(tmp_path: Path) -> None:
    env = production_env(tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto")
    code = "import django; django.setup(); from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    result = run_django({**env, "DJANGO_SETTINGS_MODULE": "console.settings"}, "-c", code)
    assert result.stdout.strip() == "('HTTP_X_FORWARDED_PROTO', 'https')", result.stderr


PRODUCTION_REQUESTS = """
import django, json, logging
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token
from django.test import Client
user = get_user_model().objects.create_user("ops", password="ops-password-never-logged")
token = Token.objects.create(user=user)
client = Client(HTTP_HOST="egress.example.com")
answer = client.get("/api/v1/policies/999/", secure=True, HTTP_AUTHORIZATION=f"Token {token.key}")
client.get("/api/v1/policies/", secure=True, HTTP_AUTHORIZATION="Token not-a-valid-token-0123456789")
logging.getLogger("policies").warning("sent Authorization: Token %s and password=%s", token.key, "hunter2-secret")
print(json.dumps({"status": answer.status_code, "request_id": answer["X-Request-ID"], "token": token.key}))
"""


def test_production_logs_are_json_lines_with_the_request_id_and_no_credential(tmp_path: Path) -> None:
    # given a DEBUG=0 process answering an API request that is logged (a 404) and one refused (401)
    env = {**production_env(tmp_path), "DJANGO_SETTINGS_MODULE": "console.settings"}
    Path(env["STATIC_ROOT"]).mkdir()
    result = run_django(env, "-c", PRODUCTION_REQUESTS)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == 404
    # then every line on stderr is one JSON object with its level, logger, request id and message
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    assert all({"time", "level", "logger", "request_id", "message"} <= set(line) for line in lines), lines
    not_found = [line for line in lines if line["message"] == "Not Found: /api/v1/policies/999/"]
    assert [line["request_id"] for line in not_found] == [answer["request_id"].replace("-", "")]
    # and no line carries the token, the password or the secret key, even one that tried to
    assert answer["token"] not in result.stderr and "hunter2-secret" not in result.stderr
    assert STRONG_KEY not in result.stderr
    assert f"Token {MASK} and password={MASK}" in result.stderr


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Authorization: Token 0123456789abcdef0123", f"Authorization: Token {MASK}"),
        ("Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0", f"Authorization: Bearer {MASK}"),
        ("POST username=ops&password=s3cret-value&next=/", f"POST username=ops&password={MASK}&next=/"),
        ('{"client_secret": "abc-123-xyz"}', f'{{"client_secret": "{MASK}"}}'),
        ("a token is needed", "a token is needed"),
    ],
)
def test_credentials_are_masked_in_log_text(line: str, expected: str) -> None:
    assert redact(line) == expected


def test_the_secret_key_is_masked_in_log_text() -> None:
    assert redact(f"settings: {settings.SECRET_KEY}!") == f"settings: {MASK}!"


def test_every_page_carries_a_content_security_policy_without_inline_code(client, django_user_model) -> None:
    # given a signed-in user / when opening console pages, the login page and the API docs
    client.force_login(django_user_model.objects.create_user("viewer"))
    for path in ("/gateways/", "/policies/", "/import/", "/api/docs/"):
        policy = client.get(path)["Content-Security-Policy"]
        # then scripts and styles come from the console's own origin only
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'", (path, policy)
        assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
        assert "unsafe" not in policy


INLINE_CODE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def test_no_template_has_inline_script_style_or_event_handler() -> None:
    # NB: what the CSP would block in a browser; the browser journeys run under it too
    found = {
        f"{path.relative_to(REPO)}: {match[0]}"
        for path in Path(REPO, "templates").rglob("*.html")
        for match in INLINE_CODE.finditer(path.read_text())
    }
    assert sorted(found) == []


def test_swagger_ui_start_up_script_is_served_as_a_file(client, django_user_model) -> None:
    client.force_login(django_user_model.objects.create_user("viewer"))
    page = client.get("/api/docs/").content.decode()
    [script_url] = re.findall(r'<script src="([^"]*\?[^"]*script[^"]*)"', page)
    script = client.get(script_url.replace("&amp;", "&"))
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()
