"""QA regression (issue 10, items 5, 6 and 8): what a server error looks like and where it goes.

5. a database that is down or locked answered a bare HTML 500: the API now answers 503 in its
   error shape with Retry-After, the console a readable page;
6. with DEBUG=0 no server error was logged anywhere: django.request now logs to stderr in every
   mode, with the traceback and the request id the response carries;
8. the debug page showed DATABASE_URL and token-like environment variables: connection URLs,
   tokens and passwords are masked in settings, in the request's environment and in locals.
"""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.http import HttpResponse
from django.urls import include, path

from tests.fixtures.api import errors_of
from tests.fixtures.console import SEED_POLICY

pytestmark = pytest.mark.django_db


def broken_view(request: Any) -> HttpResponse:
    """A view with a bug, and a connection URL in its locals."""
    password = "-".join(["frame", "pass", "1"])  # NB: built, so that the page's source excerpt does not show it
    upstream = f"postgres://egress:{password}@db.internal/egress"
    raise RuntimeError(f"boom while talking to {upstream.split('@')[1]}")


# NB: this module is its own URLconf (pytest.mark.urls): the console and API plus one broken page each.
urlpatterns = [
    path("broken/", broken_view),
    path("api/v1/broken/", broken_view),
    path("", include("console.urls")),
]
handler500 = "console.errors.server_error"


@pytest.fixture
def request_log() -> Iterator[io.StringIO]:
    """What django.request writes to its stderr handler (the handler as settings.LOGGING configures it)."""
    [handler] = [h for h in logging.getLogger("django.request").handlers if type(h) is logging.StreamHandler]
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    yield buffer
    handler.setStream(previous)


def database(refuse: str = "") -> Any:
    """A query wrapper that fails like a locked database, for every query or those naming ``refuse``."""

    def locked(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if refuse in sql:
            raise OperationalError("database is locked")
        return execute(sql, params, many, context)

    return connection.execute_wrapper(locked)


def test_the_api_answers_503_in_its_error_shape_when_the_database_is_locked(api_client, api_policy):
    # when the database refuses every query (the token lookup is the first)
    with database():
        response = api_client.get("/api/v1/policies/")
    # then 503 in JSON, with Retry-After
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response["Content-Type"] == "application/json"
    assert errors_of(response) == [
        {
            "code": "database_unavailable",
            "path": "",
            "message": "The database is unavailable; nothing was changed. Try again in 5 seconds.",
        }
    ]


def test_a_write_refused_by_a_locked_database_is_a_503_and_changes_nothing(api_client, api_policy):
    # given the draft's ETag
    url = f"/api/v1/policies/{api_policy.pk}/"
    etag = api_client.get(url)["ETag"]
    # when the database locks up once the draft is being written
    with database(refuse='UPDATE "policies_'):
        body = {"metadata": {"labels": {"team": "platform"}}}
        response = api_client.patch(
            url, data=body, format="json", headers={"If-Match": etag, "Content-Type": "application/merge-patch+json"}
        )
    # then 503, and the draft is as it was
    assert response.status_code == 503
    assert [e["code"] for e in errors_of(response)] == ["database_unavailable"]
    assert api_client.get(url)["ETag"] == etag


@pytest.mark.urls(__name__)
def test_an_api_failure_outside_any_view_is_a_503_in_the_api_shape(client, admin_user, settings, request_log):
    # given a signed-in session (its user is loaded by middleware, before any view)
    settings.DEBUG = False
    client.force_login(admin_user)
    client.raise_request_exception = False
    # when the database refuses every query
    with database():
        response = client.get("/api/v1/gateways/")
    # then the API's 503, logged with its traceback
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert [e["code"] for e in errors_of(response)] == ["database_unavailable"]
    assert "OperationalError: database is locked" in request_log.getvalue()


@pytest.mark.urls(__name__)
@pytest.mark.parametrize("refuse", ["", '"policies_'])
def test_the_console_shows_a_readable_page_when_the_database_is_locked(
    client, admin_user, seed_policy_record, settings, request_log, refuse
):
    # given a signed-in user, DEBUG off
    settings.DEBUG = False
    client.force_login(admin_user)
    client.raise_request_exception = False
    # when the database fails for every query (the session's user first) or only in the view
    with database(refuse):
        response = client.get(f"/policies/{SEED_POLICY}/")
    # then a 503 page that says what happened, with Retry-After, and one logged error with its traceback
    assert (response.status_code, response["Retry-After"]) == (503, "5")
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"The console cannot reach its database" in response.content
    assert b"Try again in 5 seconds." in response.content
    log = request_log.getvalue()
    assert log.count("ERROR django.request") == 1, log
    assert f"Service Unavailable: /policies/{SEED_POLICY}/" in log
    assert "Traceback (most recent call last)" in log


def test_persistent_connections_are_health_checked() -> None:
    # then a connection that died with a database restart is replaced before a request uses it
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    assert connection.settings_dict["CONN_MAX_AGE"] == 60


@pytest.mark.urls(__name__)
@pytest.mark.parametrize(
    ("url", "kind"), [("/broken/", "text/html; charset=utf-8"), ("/api/v1/broken/", "application/json")]
)
def test_a_server_error_with_debug_off_is_logged_with_traceback_and_request_id(
    client, settings, admin_user, request_log, url, kind
):
    # given DEBUG off, as in production
    settings.DEBUG = False
    client.force_login(admin_user)
    client.raise_request_exception = False
    # when a page fails with a bug
    response = client.get(url)
    # then the client gets a 500 in its own shape with a request id ...
    assert response.status_code == 500
    assert response["Content-Type"] == kind
    request_id = response["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    # ... and stderr has the error, its traceback and that request id
    log = request_log.getvalue()
    assert f"ERROR django.request [request {request_id}] Internal Server Error: {url}" in log
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: boom while talking to db.internal/egress" in log


@pytest.mark.urls(__name__)
def test_an_incoming_request_id_is_kept_in_the_answer_and_the_log(client, settings, admin_user, request_log):
    # given a proxy that already gave the request an id
    settings.DEBUG = False
    client.force_login(admin_user)
    client.raise_request_exception = False
    incoming = "8a3b1c6f0d2e4f5a9b7c6d5e4f3a2b1c"
    # when the request fails
    response = client.get("/broken/", headers={"X-Request-ID": incoming})
    # then the same id is answered and logged
    assert response["X-Request-ID"] == incoming
    assert f"[request {incoming}] Internal Server Error: /broken/" in request_log.getvalue()


SECRETS = {
    "DATABASE_URL": "postgres://egress:db-pass-1@db.internal:5432/egress",
    "EGRESS_API_TOKEN": "tok-abc-123",
    "KUBE_BEARER": "bearer-xyz-789",
    "SMTP_PASSWORD": "smtp-pass-2",
    "HTTPS_PROXY": "http://bob:proxy-pass-3@proxy.internal:3128",
    "SENTRY_DSN": "https://public-key-4@sentry.internal/1",
    "HTTP_AUTHORIZATION": "Token header-token-5",
}


@pytest.mark.urls(__name__)
def test_the_debug_page_masks_connection_urls_tokens_and_passwords(client, settings, admin_user):
    # given DEBUG on, a setting holding a connection URL, and secrets in the environment (runserver passes it as META)
    settings.DEBUG = True
    settings.CACHE_URL = "redis://:cache-pass-6@cache.internal:6379/0"
    client.force_login(admin_user)
    client.raise_request_exception = False
    # when a page fails
    response = client.get("/broken/", **SECRETS)
    # then the debug page shows none of the secrets, but still the harmless parts
    page = response.content.decode()
    assert response.status_code == 500
    leaked = [
        s
        for s in [*SECRETS.values(), "cache-pass-6", "frame-pass-1", settings.SECRET_KEY]
        if s.split("://")[-1] in page
    ]
    assert leaked == []
    assert "redis://********************@cache.internal:6379/0" in page
    assert "postgres://********************@db.internal/egress" in page  # NB: the view's local variable
    assert "HTTP_AUTHORIZATION" in page and "ALLOWED_HOSTS" in page
