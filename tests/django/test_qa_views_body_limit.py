"""QA regression: an editor request over the body limit got Django's HTML 400 page.

The editor's script reads JSON answers; the console's JSON endpoints now answer a body over the
limit with a JSON 413 and a stable code, like every other refusal.
"""

from __future__ import annotations

import pytest
from django.conf import settings

from tests.fixtures.console import EDITOR_JSON_ENDPOINTS

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url", EDITOR_JSON_ENDPOINTS)
def test_a_body_over_the_limit_gets_a_json_413(admin_client, seed_policy_record, url):
    # given a JSON body one byte over the upload limit
    body = '{"document": "' + "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 15) + '"}'
    assert len(body) == settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1
    # when it is posted to an editor endpoint
    response = admin_client.post(url, data=body, content_type="application/json")
    # then a JSON 413 says so
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "EGRESS-E413"
    assert response.json()["message"] == "The request is over the limit of 2097152 bytes; nothing was saved."
