"""QA regressions for the Import page: every refused POST answers 400, not 200."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

pytestmark = pytest.mark.django_db
IMPORT = "/import/"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": "   "}, "Paste a policy or choose a file to upload."),
        (
            {"file": SimpleUploadedFile("big.yaml", b"a: " + b"x" * (1024 * 1024))},
            "The file is 1048579 bytes; the limit is 1048576 bytes.",
        ),
    ],
)
def test_a_refused_import_form_answers_400(admin_client, seed_gateway_record, data, message):
    # when the import form itself is refused (nothing to import, a file over the limit)
    response = admin_client.post(IMPORT, data)
    # then the page explains it with a 400, like a refused policy
    assert response.status_code == 400
    form = response.context["form"]
    assert message in form.non_field_errors() + form.errors.get("file", [])


def test_the_import_page_itself_answers_200(admin_client, db):
    assert admin_client.get(IMPORT).status_code == 200


TEN_MB = "a: " + "x" * (10 * 1024 * 1024)


@pytest.mark.parametrize("multipart", [True, False], ids=["multipart", "urlencoded"])
def test_a_paste_over_the_form_limit_gets_the_page_with_its_message(admin_client, seed_gateway_record, multipart):
    # issue 10, item 11: a 10 MB paste got Django's bare "Bad Request (400)"
    # when the paste is far over Django's 2 MiB form limit
    if multipart:
        response = admin_client.post(IMPORT, {"text": TEN_MB})
    else:
        response = admin_client.post(IMPORT, f"text={TEN_MB}", content_type="application/x-www-form-urlencoded")
    # then the import page answers 413 and says what the limits are
    assert response.status_code == 413
    assert response.templates[0].name == "policies/import.html"
    assert response.context["refusal"].message == (
        "The form is over the limit of 2097152 bytes and was not read; nothing was imported. "
        "A policy may be at most 1048576 bytes."
    )


def test_the_oversized_paste_page_is_shown_with_csrf_checks_on(admin_user, seed_gateway_record):
    # given a browser-like client: Django's CSRF check reads the form body before any view
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    token = browser.get(IMPORT).context["csrf_token"]
    # when a 10 MB paste is sent with a valid token
    response = browser.post(IMPORT, {"text": TEN_MB, "csrfmiddlewaretoken": str(token)})
    # then it is the page with its message, not a bare 400
    assert response.status_code == 413
    assert b"nothing was imported" in response.content


def test_an_import_without_a_csrf_token_is_still_refused(admin_user, seed_gateway_record):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)
    assert browser.post(IMPORT, {"text": "a: 1"}).status_code == 403
