"""QA regression (issue 10, item 9): fields Kubernetes would refuse were accepted.

Markup such as ``"><img src=x onerror=alert(1)>`` in a label, an annotation key, a rule name or
a port name passed validation, so an object the API server refuses could be saved and applied.
They are now errors with codes (V29-V32) and paths on every path, in English and zh-hans; a
gateway's free-text description stays free but bounded, and is rendered escaped.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.api import errors_of, seed_cr, send
from tests.fixtures.console import scenario_document

pytestmark = pytest.mark.django_db
XSS = '"><img src=x onerror=alert(1)>'
T0 = "spec.egressRules[0].to[0]"


def hostile_policy() -> dict:
    """Scenario 2 with markup in every Kubernetes-checked name."""
    document = scenario_document("2")
    document["metadata"]["labels"] = {"team": XSS}
    document["metadata"]["annotations"] = {XSS: "free text is fine"}
    document["spec"]["egressRules"][0]["name"] = XSS
    document["spec"]["egressRules"][0]["to"][0]["port"]["name"] = XSS
    return document


EXPECTED = [
    ("EGRESS-V29", "metadata.labels.team"),
    ("EGRESS-V30", f"metadata.annotations.{XSS}"),
    ("EGRESS-V31", "spec.egressRules[0].name"),
    ("EGRESS-V32", f"{T0}.port.name"),
]


def test_the_api_validate_endpoint_names_each_refused_field(api_client):
    # when the markup policy is validated through the API
    response = send(api_client, "post", "/api/v1/validate/", hostile_policy())
    # then it is invalid, with one error per field
    assert response.status_code == 200
    assert response.json()["valid"] is False
    errors = [(f["code"], f["path"]) for f in response.json()["findings"] if f["severity"] == "error"]
    assert sorted(errors) == EXPECTED


def test_the_api_refuses_to_store_such_a_policy(api_client, api_gateway):
    # when a new policy with markup in its names is created
    body = {**seed_cr("2"), "metadata": {**seed_cr("2")["metadata"], "labels": {XSS: "x"}}}
    response = send(api_client, "post", "/api/v1/policies/", body)
    # then 400 names the label
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-V29", f"metadata.labels.{XSS}")]


def test_the_console_preview_explains_them_in_chinese(admin_client, seed_gateway_record):
    # when the editor previews the policy in zh-hans
    response = admin_client.post(
        "/gateways/egressgateway/preview/",
        data=json.dumps({"document": hostile_policy()}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    # then each error is at its field, in Chinese
    messages = {f["code"]: f["message"] for f in response.json()["findings"] if f["severity"] == "error"}
    assert sorted(messages) == [code for code, _ in EXPECTED]
    assert messages["EGRESS-V29"].startswith("'team' 的标签值")
    assert messages["EGRESS-V30"].startswith("注解键")
    assert messages["EGRESS-V31"].startswith("规则名称")
    assert messages["EGRESS-V32"].startswith("端口名称")


def test_a_gateway_description_is_free_text_but_bounded(api_client, api_gateway):
    url = f"/api/v1/gateways/{api_gateway.name}/"
    # when the description is 201 characters
    response = send(api_client, "patch", url, {"description": "d" * 201})
    # then it is refused at its field
    assert response.status_code == 400
    assert [e["path"] for e in errors_of(response)] == ["description"]
    # when it is markup of an allowed length, then it is stored as given
    assert send(api_client, "patch", url, {"description": XSS}).json()["description"] == XSS


def test_a_gateway_description_is_rendered_escaped(admin_client, api_gateway):
    # given a description made of markup
    api_gateway.description = XSS
    api_gateway.save()
    # when the gateway list is shown
    page = admin_client.get("/gateways/").content.decode()
    # then the markup is text, never an element
    assert "<img src=x" not in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page


@pytest.mark.parametrize("name", [XSS, "http-port-of-16c", "http--80", "8080", "HTTP"])
def test_a_gateway_port_name_kubernetes_would_refuse_is_refused(api_client, api_gateway, name):
    # when a gateway Service port is named with markup, too long, or not an IANA service name
    ports = [{"name": name, "number": 80, "protocol": "HTTP"}]
    response = send(api_client, "patch", f"/api/v1/gateways/{api_gateway.name}/", {"ports": ports})
    # then it is refused at its field
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("invalid_port_name", "ports[0].name")]
