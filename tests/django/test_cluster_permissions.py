"""The cluster permission matrix, generated: every role (and no role) × every cluster action × API and console.

The expected answer comes from the permissions the role's group holds in the database (the data migrations
made them) and the one permission each action needs; reading needs only an account. The command line runs as
the host's operator, outside the roles, and the Django admin does not list clusters.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from tests.fixtures.api import send
from tests.fixtures.reviews import ROLES_AND_NONE, role_holds, user_in_role

pytestmark = pytest.mark.django_db

NEEDS = {
    "list": None,
    "read": None,
    "register": "add_cluster",
    "edit": "change_cluster",
    "delete": "delete_cluster",
    "check": "check_cluster",
}
API_SUCCESS = {"register": 201, "delete": 204}
CONSOLE_SUCCESS = {"list": 200, "read": 200}


def allowed(role: str, action: str) -> bool:
    """Whether the role's group holds what ``action`` needs (None: any signed-in user)."""
    needed = NEEDS[action]
    if needed is None:
        return True
    return role_holds(role, needed)


def api_call(action: str, client: APIClient, kubeconfig: str) -> Any:
    url = "/api/v1/clusters/"
    calls = {
        "list": lambda: client.get(url),
        "read": lambda: client.get(f"{url}prod/"),
        "register": lambda: send(client, "post", url, {"name": "new", "kubeconfigPath": kubeconfig}),
        "edit": lambda: send(client, "patch", f"{url}prod/", {"description": "d"}),
        "delete": lambda: send(client, "delete", f"{url}prod/"),
        "check": lambda: send(client, "post", f"{url}prod/check/"),
    }
    return calls[action]()


def console_call(action: str, client: Client, kubeconfig: str) -> Any:
    location = {"name": "new", "kubeconfig_path": kubeconfig, "context": "prod", "description": ""}
    calls = {
        "list": lambda: client.get("/clusters/"),
        "read": lambda: client.get("/clusters/prod/"),
        "register": lambda: client.post("/clusters/new/", location),
        "edit": lambda: client.post("/clusters/prod/edit/", {**location, "name": "prod"}),
        "delete": lambda: client.post("/clusters/prod/delete/"),
        "check": lambda: client.post("/clusters/prod/check/"),
    }
    return calls[action]()


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES_AND_NONE, NEEDS)))
def test_api(role: str, action: str, stored_cluster: Any, fake_cluster: Any, kubeconfig: str) -> None:
    client = APIClient()
    client.force_authenticate(user_in_role(role))
    response = api_call(action, client, kubeconfig)
    expected = API_SUCCESS.get(action, 200) if allowed(role, action) else 403
    assert response.status_code == expected, response.content


@pytest.mark.parametrize(("role", "action"), list(itertools.product(ROLES_AND_NONE, NEEDS)))
def test_console(role: str, action: str, stored_cluster: Any, fake_cluster: Any, kubeconfig: str) -> None:
    client = Client()
    client.force_login(user_in_role(role))
    response = console_call(action, client, kubeconfig)
    expected = CONSOLE_SUCCESS.get(action, 302) if allowed(role, action) else 403
    assert response.status_code == expected, response.content[:300]


def test_the_matrix_gives_clusters_to_admins_and_checks_to_operators_and_admins() -> None:
    """The data migrations' grants, spelled out once so a change of the role table is a visible decision."""
    holders = {
        action: sorted(role for role in ROLES_AND_NONE if NEEDS[action] and allowed(role, action))
        for action in ("register", "edit", "delete", "check")
    }
    assert holders == {
        "register": ["admin"],
        "edit": ["admin"],
        "delete": ["admin"],
        "check": ["admin", "operator"],
    }
