"""QA regressions: the console's write endpoints honour the same model permissions as the API.

A user with only the ``view_*`` permissions could save drafts, snapshot revisions, create
policies and import YAML through the console although the API refused them with 403.
"""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Permission, User

from policies.models import EgressPolicy, PolicyRevision
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def viewer_client(client):
    """A signed-in console user who may only view the policy models."""
    user = User.objects.create_user("viewer", password="viewer-pass-123")
    user.user_permissions.add(*Permission.objects.filter(codename__startswith="view_"))
    client.force_login(user)
    return client


def post_json(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize("verb", ["save", "commit"])
def test_viewer_cannot_write_the_draft(viewer_client, seed_policy_record, verb):
    # given a viewer and the seed policy at draft version 1
    body = {"document": scenario_document("3"), "version": 1, "message": "viewer"}
    # when the viewer saves through the console
    response = post_json(viewer_client, f"/policies/{SEED_POLICY}/{verb}/", body)
    # then the console refuses with 403 and a stable code, and nothing changed
    assert response.status_code == 403
    assert response.json()["code"] == "EGRESS-E403"
    assert EgressPolicy.objects.get(name=SEED_POLICY).draft.version == 1
    assert PolicyRevision.objects.count() == 1


def test_viewer_cannot_create_a_policy(viewer_client, seed_gateway_record):
    # when a viewer creates the gateway's policy from the editor
    response = post_json(viewer_client, "/gateways/egressgateway/create-policy/", {"document": scenario_document("2")})
    # then 403 and no policy exists
    assert response.status_code == 403
    assert response.json()["code"] == "EGRESS-E403"
    assert EgressPolicy.objects.count() == 0


def test_viewer_cannot_import(viewer_client, seed_gateway_record):
    # when a viewer imports pasted YAML
    text = json.dumps(scenario_document("2"))
    response = viewer_client.post("/import/", {"text": text})
    # then the import page refuses with 403 and no policy exists
    assert response.status_code == 403
    assert EgressPolicy.objects.count() == 0


def test_viewer_sees_a_read_only_editor(viewer_client, seed_policy_record):
    # when a viewer opens the policy page
    response = viewer_client.get(f"/policies/{SEED_POLICY}/")
    # then the page says so and offers no save buttons
    assert response.status_code == 200
    assert response.context["can_edit"] is False


def test_editor_with_change_permission_can_save(admin_client, seed_policy_record):
    # given the admin (all permissions)
    body = {"document": scenario_document("3"), "version": 1}
    # when saving
    response = post_json(admin_client, f"/policies/{SEED_POLICY}/save/", body)
    # then the draft moves to version 2
    assert response.status_code == 200
    assert response.json()["version"] == 2
