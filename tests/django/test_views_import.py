"""Import page: pasted or uploaded YAML becomes a new policy or a new draft version."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from policies.models import EgressPolicy, PolicyDraft
from policies.seed import seed_text
from tests.fixtures.console import SEED_POLICY

pytestmark = pytest.mark.django_db
IMPORT = "/import/"


@pytest.mark.smoke
def test_pasted_yaml_becomes_a_new_policy(admin_client, seed_gateway_record):
    # when
    response = admin_client.post(IMPORT, {"text": seed_text("scenario-2")})
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/policies/{SEED_POLICY}/"
    assert EgressPolicy.objects.get().revisions.get().number == 1


def test_uploaded_file_becomes_a_new_draft_of_the_existing_policy(admin_client, seed_policy_record):
    # given
    upload = SimpleUploadedFile("policy.yaml", seed_text("scenario-3").encode(), content_type="application/yaml")
    # when
    response = admin_client.post(IMPORT, {"file": upload}, follow=True)
    # then
    draft = PolicyDraft.objects.get(policy=seed_policy_record)
    assert draft.version == 2
    assert [to["name"] for to in draft.document["spec"]["egressRules"][0]["to"]] == ["httpbin-service-https"]
    assert "as a new draft version" in response.content.decode()


def test_invalid_yaml_is_refused_with_findings_on_lines(admin_client, seed_gateway_record):
    # given
    text = seed_text("scenario-2").replace("number: 80\n", "number: 70000\n")
    # when
    response = admin_client.post(IMPORT, {"text": text})
    # then
    assert response.status_code == 400
    assert response.context["source_text"] == text
    assert [(f["code"], f["line"]) for f in response.context["findings"] if f["severity"] == "error"] == [
        ("EGRESS-V12", 21)
    ]
    assert EgressPolicy.objects.count() == 0


def test_empty_import_asks_for_input(admin_client, db):
    # when
    response = admin_client.post(IMPORT, {"text": "   "})
    # then
    assert response.status_code == 400
    assert response.context["form"].non_field_errors() == ["Paste a policy or choose a file to upload."]
