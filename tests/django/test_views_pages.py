"""Console pages: sign-in everywhere, what each page shows, downloads, and the query budget."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from policies.core.document import dump_policy, parse_policy_text
from policies.core.expansion import expand_policy
from policies.core.gateway import seed_gateway
from policies.core.yamlio import dump_yaml_all
from policies.seed import seed_text
from tests.fixtures.console import SEED_POLICY

QUERY_BUDGET = 10

pytestmark = pytest.mark.django_db


def editor_config(response) -> dict:
    """The JSON the policy editor page embeds for its script."""
    html = response.content.decode()
    start = html.index('<script id="editor-config" type="application/json">') + len(
        '<script id="editor-config" type="application/json">'
    )
    return json.loads(html[start : html.index("</script>", start)])


@pytest.mark.smoke
@pytest.mark.parametrize(
    "url",
    ["/", "/gateways/", "/gateways/egressgateway/", "/policies/", f"/policies/{SEED_POLICY}/", "/import/"],
)
def test_pages_send_anonymous_users_to_sign_in(client, seed_policy_record, url):
    # when
    response = client.get(url)
    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


def test_sign_in_page_is_public_and_switches_language(client):
    # when
    page = client.get("/accounts/login/")
    switched = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/accounts/login/"})
    # then
    assert page.status_code == 200
    assert b'name="username"' in page.content
    assert switched.status_code == 302
    assert switched["Location"] == "/accounts/login/"


def test_gateway_list_shows_ports_and_policy_state(admin_client, seed_policy_record):
    # when
    response = admin_client.get("/gateways/")
    # then
    html = response.content.decode()
    assert response.status_code == 200
    for text in ("HTTP 80", "HTTPS 443", "HTTPS 444", f'href="/policies/{SEED_POLICY}/"', "draft v1", "1 revision"):
        assert text in html


def test_gateway_list_shows_an_empty_state_without_gateways(admin_client):
    # when
    response = admin_client.get("/gateways/")
    # then
    assert "No egress gateways yet" in response.content.decode()


def test_gateway_overview_summarises_the_policy(admin_client, seed_policy_record):
    # when
    response = admin_client.get("/gateways/egressgateway/")
    # then
    summary = response.context["summary"]
    assert (summary["rules"], summary["sources"], summary["targets"], summary["version"]) == (1, 1, 2, 1)
    assert summary["hosts"] == ["httpbin.org", "www.httpbin.org"]
    assert response.context["latest"].number == 1


def test_gateway_overview_offers_to_create_a_missing_policy(admin_client, seed_gateway_record):
    # when
    response = admin_client.get("/gateways/egressgateway/")
    # then
    assert 'href="/gateways/egressgateway/new-policy/"' in response.content.decode()


def test_unknown_gateway_is_404(admin_client, db):
    assert admin_client.get("/gateways/nope/").status_code == 404


def test_policy_page_embeds_the_draft_and_its_preview(admin_client, seed_policy_record):
    # when
    config = editor_config(admin_client.get(f"/policies/{SEED_POLICY}/"))
    # then
    assert config["version"] == 1
    assert config["document"] == seed_policy_record.draft.document
    assert config["preview"]["yaml"] == seed_text("scenario-2")
    assert config["gateway"]["ports"] == [
        {"name": "http-80", "number": 80, "protocol": "HTTP"},
        {"name": "https-443", "number": 443, "protocol": "HTTPS"},
        {"name": "https-444", "number": 444, "protocol": "HTTPS"},
    ]
    assert config["urls"]["save"] == f"/policies/{SEED_POLICY}/save/"


def test_new_policy_page_starts_from_an_empty_document(admin_client, seed_gateway_record):
    # when
    config = editor_config(admin_client.get("/gateways/egressgateway/new-policy/"))
    # then
    assert config["version"] is None
    assert config["document"]["spec"] == {"byEgressGateway": {"name": "egressgateway"}, "egressRules": []}
    assert "save" not in config["urls"]


def test_new_policy_page_redirects_when_the_gateway_has_one(admin_client, seed_policy_record):
    # when
    response = admin_client.get("/gateways/egressgateway/new-policy/")
    # then
    assert response.status_code == 302
    assert response["Location"] == f"/policies/{SEED_POLICY}/"


def test_revision_page_shows_the_stored_cr(admin_client, seed_policy_record):
    # when
    response = admin_client.get(f"/policies/{SEED_POLICY}/revisions/1/")
    missing = admin_client.get(f"/policies/{SEED_POLICY}/revisions/9/")
    # then
    assert response.context["cr_yaml"] == seed_text("scenario-2")
    assert response.context["revision"].message == "Seed scenario 2"
    assert missing.status_code == 404


def test_export_downloads_the_cr_and_its_istio_objects(admin_client, seed_policy_record):
    # given
    policy = parse_policy_text(seed_text("scenario-2")).policy
    # when
    cr = admin_client.get(f"/policies/{SEED_POLICY}/export/cr.yaml")
    istio = admin_client.get(f"/policies/{SEED_POLICY}/export/istio.yaml?revision=1")
    unknown = admin_client.get(f"/policies/{SEED_POLICY}/export/helm.yaml")
    # then
    assert cr.content.decode() == dump_policy(policy)
    assert cr["Content-Disposition"] == f'attachment; filename="{SEED_POLICY}-draft-cr.yaml"'
    assert istio.content.decode() == dump_yaml_all(expand_policy(policy, seed_gateway()))
    assert istio["Content-Disposition"] == f'attachment; filename="{SEED_POLICY}-r1-istio.yaml"'
    assert unknown.status_code == 404


@pytest.mark.parametrize(
    "url",
    [
        "/gateways/",
        "/gateways/egressgateway/",
        "/gateways/egressgateway/new-policy/",
        "/policies/",
        f"/policies/{SEED_POLICY}/",
        f"/policies/{SEED_POLICY}/revisions/1/",
        f"/policies/{SEED_POLICY}/export/cr.yaml",
        f"/policies/{SEED_POLICY}/export/istio.yaml",
        "/import/",
    ],
)
def test_every_page_stays_within_the_query_budget_with_50_targets(
    admin_client, big_policy_record, django_assert_max_num_queries, url
):
    # when / then
    with django_assert_max_num_queries(QUERY_BUDGET):
        response = admin_client.get(url, follow=True)
    assert response.status_code == 200


def test_policy_list_links_every_policy(admin_client, seed_policy_record):
    # when
    html = admin_client.get(reverse("policies:policy-list")).content.decode()
    # then
    assert f'href="/policies/{SEED_POLICY}/export/istio.yaml"' in html
