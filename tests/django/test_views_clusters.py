"""Cluster pages: list and detail for every role, admin forms (bad kubeconfig path, unknown context), the check
button for operators, the ALLOW_ANY warning on the cluster and gateway pages."""

from __future__ import annotations

import pytest
from django.test import Client

from policies.models import AuditEntry, Cluster
from tests.fixtures.clusters import no_secret_in, set_outbound_mode
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db


def signed_in(role: str) -> Client:
    client = Client()
    client.force_login(user_in_role(role))
    return client


def form(kubeconfig: str, **changes: str) -> dict[str, str]:
    return {"name": "prod", "kubeconfig_path": kubeconfig, "context": "prod", "description": "", **changes}


def test_admin_registers_a_cluster_through_the_form(kubeconfig):
    response = signed_in("admin").post("/clusters/new/", form(kubeconfig, context="staging"))
    assert response.status_code == 302
    assert response["Location"] == "/clusters/prod/"
    assert Cluster.objects.get(name="prod").context == "staging"
    assert AuditEntry.objects.filter(action="cluster.register").count() == 1


@pytest.mark.parametrize(
    ("changes", "field", "text"),
    [
        ({"kubeconfig_path": "/nonexistent/kubeconfig"}, "kubeconfig_path", "There is no file /nonexistent/kubeconfig"),
        ({"context": "nope"}, "context", "has no context &#x27;nope&#x27;; it has: prod, staging."),
        ({"kubeconfig_path": ""}, "kubeconfig_path", "Give a kubeconfig path, or use the in-cluster service account."),
    ],
    ids=["missing-file", "unknown-context", "no-location"],
)
def test_the_form_shows_an_unusable_location_on_its_field(kubeconfig, changes, field, text):
    response = signed_in("admin").post("/clusters/new/", form(kubeconfig, **changes))
    assert response.status_code == 200
    page = response.content.decode()
    errors = page.split(f'data-testid="errors-{field}"', 1)[1].split("</ul>", 1)[0]
    assert text in errors
    assert not Cluster.objects.exists()
    assert no_secret_in(page)


def test_the_name_cannot_change_when_editing(stored_cluster, kubeconfig):
    response = signed_in("admin").post("/clusters/prod/edit/", form(kubeconfig, name="other", description="blue"))
    assert response.status_code == 302
    assert list(Cluster.objects.values_list("name", "description")) == [("prod", "blue")]


@pytest.mark.parametrize("role", ["viewer", "editor", "approver", "operator"])
def test_only_admins_reach_the_forms(role, stored_cluster, kubeconfig):
    client = signed_in(role)
    assert client.get("/clusters/new/").status_code == 403
    assert client.post("/clusters/new/", form(kubeconfig, name="other")).status_code == 403
    assert client.post("/clusters/prod/edit/", form(kubeconfig)).status_code == 403
    assert client.post("/clusters/prod/delete/").status_code == 403
    assert Cluster.objects.count() == 1


def test_a_viewer_reads_the_pages_and_is_told_why_the_buttons_are_missing(stored_cluster):
    client = signed_in("viewer")
    listing = client.get("/clusters/").content.decode()
    assert 'data-cluster="prod"' in listing
    assert "Read-only: only the admin role registers, edits and deletes clusters." in listing
    assert 'data-testid="register-cluster"' not in listing
    detail = client.get("/clusters/prod/").content.decode()
    assert "Only operators and admins can check the connection" in detail
    assert 'data-testid="check-connection"' not in detail
    assert client.post("/clusters/prod/check/").status_code == 403


def test_an_operator_checks_and_sees_the_result_and_the_allow_any_warning(
    stored_cluster, fake_cluster, seed_gateway_record
):
    set_outbound_mode(fake_cluster, "ALLOW_ANY")
    client = signed_in("operator")
    page = client.post("/clusters/prod/check/", follow=True).content.decode()
    assert "Cluster prod answered" in page
    assert 'data-testid="outbound-mode"' in page and "ALLOW_ANY</span>" in page
    assert 'data-testid="allow-any-warning"' in page
    assert "Under ALLOW_ANY an egress policy restricts nothing" in page
    assert "first step switches the mesh to REGISTRY_ONLY" in page
    gateway = client.get(f"/gateways/{seed_gateway_record.name}/").content.decode()
    assert 'data-testid="allow-any-warning"' in gateway
    assert 'data-cluster="prod"' in gateway


def test_registry_only_shows_no_warning(stored_cluster, fake_cluster, seed_gateway_record):
    set_outbound_mode(fake_cluster, "REGISTRY_ONLY")
    client = signed_in("operator")
    page = client.post("/clusters/prod/check/", follow=True).content.decode()
    assert "REGISTRY_ONLY</span>" in page
    assert 'data-testid="allow-any-warning"' not in page
    assert (
        'data-testid="allow-any-warning"' not in client.get(f"/gateways/{seed_gateway_record.name}/").content.decode()
    )


def test_an_unreachable_cluster_shows_its_code_and_message(operator_dead_cluster):
    client, name = operator_dead_cluster
    page = client.post(f"/clusters/{name}/check/", follow=True).content.decode()
    assert "could not be checked: [CLUSTER-E001]" in page
    assert 'data-testid="check-error"' in page
    assert no_secret_in(page)


@pytest.fixture
def operator_dead_cluster(tmp_path):
    from tests.fixtures.clusters import kubeconfig_text

    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig_text(server="https://127.0.0.1:9"))
    Cluster.objects.create(name="dead", kubeconfig_path=str(path), context="prod")
    return signed_in("operator"), "dead"


def test_admin_deletes_an_unused_cluster_after_confirming(stored_cluster):
    client = signed_in("admin")
    assert "Delete cluster prod?" in client.get("/clusters/prod/delete/").content.decode()
    assert client.post("/clusters/prod/delete/")["Location"] == "/clusters/"
    assert not Cluster.objects.exists()


def test_the_navigation_links_the_clusters_page(stored_cluster):
    page = signed_in("viewer").get("/gateways/").content.decode()
    assert 'href="/clusters/"' in page
