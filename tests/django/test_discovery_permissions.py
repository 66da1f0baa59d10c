"""The permission matrix of observed traffic, generated like the review workflow's: every role × every action,
through the API, the console and the Django admin. The expected answer comes from the permissions each role's
group holds in the database (the data migration 0010) and the one permission each action needs.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from policies.models import ObservationUpload, ObservedFlow
from tests.fixtures.accesslogs import http, text_line
from tests.fixtures.api import send
from tests.fixtures.discovery import ingest_sample
from tests.fixtures.reviews import ROLES_AND_NONE, role_holds, user_in_role

pytestmark = pytest.mark.django_db

NEEDS = {
    "read": "view_observedflow",
    "replay": "view_observedflow",
    "upload": "add_observedflow",
    "propose": "add_observedflow",
    "delete": "delete_observedflow",
}
LINE = text_line(http("api.github.com", "140.82.1.1"))
API = "/api/v1/discoveries/"


def allowed(role: str, action: str) -> bool:
    """Whether the role's group, as the data migration made it, holds what ``action`` needs."""
    return role_holds(role, NEEDS[action])


@pytest.fixture
def observed(seed_policy_record: Any) -> list[int]:
    """The seed policy's gateway with the sample flows stored (by an admin)."""
    ingest_sample(seed_policy_record.gateway, user_in_role("admin", "uploader"))
    return list(ObservedFlow.objects.values_list("pk", flat=True))


def api_call(action: str, client: APIClient, flows: list[int]) -> Any:
    gateway = {"gateway": "egressgateway"}
    if action == "read":
        return client.get(f"{API}flows/")
    if action == "replay":
        return send(client, "post", f"{API}replay/", gateway)
    if action == "upload":
        return send(client, "post", API, {**gateway, "text": LINE, "namespace": "shop"})
    if action == "propose":
        return send(client, "post", f"{API}propose/", {**gateway, "flows": flows})
    return client.delete(f"{API}flows/?gateway=egressgateway")


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES_AND_NONE, NEEDS)))
def test_api(role: str, action: str, observed: list[int]) -> None:
    client = APIClient()
    client.force_authenticate(user_in_role(role))
    response = api_call(action, client, observed)
    expected = {"upload": 201}.get(action, 200) if allowed(role, action) else 403
    assert response.status_code == expected, response.content
    assert ObservedFlow.objects.exists() is not (action == "delete" and expected == 200)


def console_call(action: str, client: Client, flows: list[int]) -> Any:
    if action == "read":
        return client.get("/discover/")
    if action == "replay":
        return client.get("/discover/?replay=draft")
    if action == "upload":
        return client.post("/discover/upload/", {"gateway": "egressgateway", "text": LINE, "namespace": "shop"})
    if action == "propose":
        return client.post("/discover/propose/", {"gateway": "egressgateway", "flow": [str(pk) for pk in flows]})
    return client.post("/discover/delete/", {"gateway": "egressgateway"})


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES_AND_NONE, NEEDS)))
def test_console(role: str, action: str, observed: list[int]) -> None:
    client = Client()
    client.force_login(user_in_role(role))
    response = console_call(action, client, observed)
    expected = {"upload": 302, "delete": 302}.get(action, 200) if allowed(role, action) else 403
    assert response.status_code == expected
    took_effect = expected != 403
    if action == "upload":
        assert ObservationUpload.objects.count() == (2 if took_effect else 1)
    if action == "delete":
        assert ObservedFlow.objects.exists() is not took_effect


@pytest.mark.parametrize("role", ROLES_AND_NONE)
def test_admin_pages_are_read_only_and_only_admins_delete(role: str, observed: list[int]) -> None:
    client = Client()
    client.force_login(user_in_role(role))
    listing = client.get("/admin/policies/observedflow/")
    assert listing.status_code == (200 if allowed(role, "read") else 403)
    assert client.get("/admin/policies/observedflow/add/").status_code == 403
    flow = observed[0]
    client.post(f"/admin/policies/observedflow/{flow}/delete/", {"post": "yes"})
    assert ObservedFlow.objects.filter(pk=flow).exists() is not allowed(role, "delete")


@pytest.mark.parametrize("role", ["editor", "admin"])
def test_the_admin_prune_action_applies_the_retention_period(role: str, observed: list[int]) -> None:
    from datetime import timedelta

    from django.utils import timezone

    ObservedFlow.objects.filter(pk=observed[0]).update(updated_at=timezone.now() - timedelta(days=365))
    client = Client()
    client.force_login(user_in_role(role))
    client.post("/admin/policies/observedflow/", {"action": "prune_observations", "_selected_action": [observed[1]]})
    assert ObservedFlow.objects.filter(pk=observed[0]).exists() is not allowed(role, "delete")
    assert ObservedFlow.objects.filter(pk=observed[1]).exists()
