"""The editor's JSON endpoints: live preview, save with optimistic locking, revisions, creation."""

from __future__ import annotations

import json

import pytest

from policies.core.document import parse_policy_text
from policies.core.expansion import expand_policy
from policies.core.gateway import seed_gateway
from policies.core.yamlio import dump_yaml_all
from policies.models import EgressPolicy, PolicyDraft
from policies.seed import seed_text
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = pytest.mark.django_db
PREVIEW = "/gateways/egressgateway/preview/"
SAVE = f"/policies/{SEED_POLICY}/save/"
COMMIT = f"/policies/{SEED_POLICY}/commit/"


def post(client, url, body, **extra):
    """POST a JSON body."""
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)


def with_port(number) -> dict:
    """Scenario 2 with the first target's port number replaced."""
    document = scenario_document("2")
    document["spec"]["egressRules"][0]["to"][0]["port"]["number"] = number
    return document


def findings_at(body: dict, path: str) -> list[tuple[str, str, int]]:
    """(code, severity, line) of every finding at ``path``."""
    return [(f["code"], f["severity"], f["line"]) for f in body["findings"] if f["path"] == path]


@pytest.mark.smoke
def test_preview_of_the_seed_gives_its_yaml_objects_and_hop_lines(admin_client, seed_gateway_record):
    # when
    body = post(admin_client, PREVIEW, {"document": scenario_document("2")}).json()
    # then
    assert body["ok"] is True
    assert body["yaml"] == seed_text("scenario-2")
    expected = expand_policy(parse_policy_text(seed_text("scenario-2")).policy, seed_gateway())
    assert [(o["kind"], o["name"]) for o in body["objects"]] == [(o["kind"], o["metadata"]["name"]) for o in expected]
    assert "---\n".join(o["yaml"] for o in body["objects"]) == dump_yaml_all(expected)
    assert body["hops"]["spec.egressRules[0].to[0]"]["text"] == (
        "app → sidecar :80 → egressgateway :80 → www.httpbin.org :443 (TLS originated)"
    )
    assert body["hops"]["spec.egressRules[0].to[1]"]["text"] == (
        "app → sidecar :443 → egressgateway :444 → www.httpbin.org :443 (TLS passthrough)"
    )
    assert body["counts"]["error"] == 0


@pytest.mark.parametrize(
    ("number", "code", "yaml_line"),
    [(70000, "EGRESS-V12", "        number: 70000"), ("eighty", "EGRESS-S01", "        number: eighty")],
)
def test_preview_pins_a_bad_port_to_its_field_and_yaml_line(admin_client, seed_gateway_record, number, code, yaml_line):
    # when
    body = post(admin_client, PREVIEW, {"document": with_port(number)}).json()
    # then
    line = body["yaml"].splitlines().index(yaml_line) + 1
    assert findings_at(body, "spec.egressRules[0].to[0].port.number")[0] == (code, "error", line)
    assert body["ok"] is False
    assert body["objects"] == []


def test_preview_of_text_keeps_the_text_and_reports_lines(admin_client, seed_gateway_record):
    # given
    text = seed_text("scenario-2").replace("number: 443\n        protocol: HTTPS", "number: 0\n        protocol: HTTPS")
    # when
    body = post(admin_client, PREVIEW, {"text": text}).json()
    # then
    assert body["yaml"] == text
    assert findings_at(body, "spec.egressRules[0].to[1].port.number") == [("EGRESS-V12", "error", 34)]
    assert body["data"]["spec"]["egressRules"][0]["to"][1]["port"]["number"] == 0


def test_preview_of_unreadable_yaml_reports_the_line_and_no_data(admin_client, seed_gateway_record):
    # when
    body = post(admin_client, PREVIEW, {"text": "apiVersion: v1\nkind: [unclosed\n"}).json()
    # then
    assert body["data"] is None
    assert body["ok"] is False
    assert [f["line"] for f in body["findings"]] == [3]


@pytest.mark.parametrize(
    ("payload", "code"),
    [("not json", "EGRESS-E010"), ("[1, 2]", "EGRESS-E010"), ("{}", "EGRESS-E010")],
)
def test_preview_refuses_a_body_it_cannot_read(admin_client, seed_gateway_record, payload, code):
    # when
    response = admin_client.post(PREVIEW, data=payload, content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_preview_speaks_the_browser_language(admin_client, seed_gateway_record):
    # when
    body = post(admin_client, PREVIEW, {"document": with_port(70000)}, HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    # then
    message = next(f["message"] for f in body["findings"] if f["code"] == "EGRESS-V12")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message), message


def test_save_stores_a_new_draft_version(admin_client, seed_policy_record):
    # given
    document = scenario_document("2")
    document["spec"]["egressRules"][0]["from"][0]["namespace"] = "other"
    # when
    response = post(admin_client, SAVE, {"document": document, "version": 1})
    # then
    draft = PolicyDraft.objects.get(policy=seed_policy_record)
    assert response.json() == {"version": 2, "message": "Draft saved as version 2."}
    assert (draft.version, draft.document["spec"]["egressRules"][0]["from"][0]["namespace"]) == (2, "other")


@pytest.mark.parametrize("version", [0, 7, None, "1"])
def test_save_against_a_stale_version_is_refused_and_changes_nothing(admin_client, seed_policy_record, version):
    # when
    response = post(admin_client, SAVE, {"document": with_port(8080), "version": version})
    # then
    draft = PolicyDraft.objects.get(policy=seed_policy_record)
    assert response.status_code == 412
    assert response.json()["code"] == "EGRESS-E002"
    assert (draft.version, draft.document) == (1, scenario_document("2"))


def test_save_of_an_invalid_document_is_refused_with_findings(admin_client, seed_policy_record):
    # when
    response = post(admin_client, SAVE, {"document": with_port(70000), "version": 1})
    # then
    body = response.json()
    assert response.status_code == 400
    assert body["code"] == "EGRESS-E001"
    paths = [f["path"] for f in body["findings"] if f["code"] == "EGRESS-V12"]
    assert paths == ["spec.egressRules[0].to[0].port.number"]
    assert PolicyDraft.objects.get(policy=seed_policy_record).version == 1


def test_save_as_revision_records_message_and_author(admin_client, admin_user, seed_policy_record):
    # given
    document = with_port(8080)
    # when
    response = post(admin_client, COMMIT, {"document": document, "version": 1, "message": "Use 8080"})
    # then
    revision = seed_policy_record.revisions.get(number=2)
    assert response.json() == {"version": 2, "revision": 2, "created": True, "message": "Saved as revision 2."}
    assert (revision.message, revision.author, revision.document) == ("Use 8080", admin_user, document)


def test_create_policy_from_the_editor(admin_client, seed_gateway_record):
    # when
    response = post(admin_client, "/gateways/egressgateway/create-policy/", {"document": scenario_document("2")})
    # then
    assert response.status_code == 201
    assert response.json()["redirect"] == f"/policies/{SEED_POLICY}/"
    assert EgressPolicy.objects.get().revisions.count() == 1


def test_create_policy_refuses_an_invalid_document(admin_client, seed_gateway_record):
    # when
    response = post(admin_client, "/gateways/egressgateway/create-policy/", {"document": with_port(70000)})
    # then
    assert response.status_code == 400
    assert EgressPolicy.objects.count() == 0


def test_json_endpoints_need_sign_in_and_post(client, admin_client, seed_policy_record):
    # when
    anonymous = post(client, SAVE, {"document": {}, "version": 1})
    wrong_method = admin_client.get(SAVE)
    # then
    assert anonymous.status_code == 302
    assert wrong_method.status_code == 405
