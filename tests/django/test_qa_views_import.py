"""QA regressions for the Import page: every refused POST answers 400, not 200."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

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
