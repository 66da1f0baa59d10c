"""QA regressions for the API's handling of odd bodies.

* A URL the simulator refuses (no valid host, port 0) was reported with an empty ``path``;
  every error names its field.
* A JSON body with a repeated key silently kept the last value, while the same body in YAML is
  refused; a repeated key is refused in both, with the key's path.
"""

from __future__ import annotations

import json

import pytest

from tests.fixtures.api import errors_of, seed_cr, send

pytestmark = pytest.mark.django_db
SLEEP_A = {"namespace": "mytest", "labels": {"app": "sleep-a"}}


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("http://a b.com/", "EGRESS-SIM03"),
        ("http://httpbin.org:0/", "EGRESS-SIM04"),
    ],
)
def test_a_refused_simulation_url_names_the_url_field(api_client, url, code):
    # given a simulate body whose URL the simulator refuses
    body = {"policies": [seed_cr("2")], "source": SLEEP_A, "url": url}
    # when it is posted
    response = send(api_client, "post", "/api/v1/simulate/", body)
    # then the one error names the url field
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [(code, "url")]


def test_a_refused_draft_simulation_url_names_the_url_field(api_client, api_objects):
    # given the stored draft and a URL with port 0
    url = f"/api/v1/policies/{api_objects['policy']}/simulate/"
    # when simulating against the draft
    response = send(api_client, "post", url, {"source": SLEEP_A, "url": "http://httpbin.org:0/"})
    # then the error names the url field
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-SIM04", "url")]


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        ('{"apiVersion": "a", "apiVersion": "b"}', "apiVersion"),
        ('{"metadata": {"name": "x", "name": "y"}}', "metadata.name"),
        ('{"spec": {"egressRules": [{"from": [], "from": []}]}}', "spec.egressRules[0].from"),
    ],
)
def test_a_json_body_with_a_repeated_key_is_refused(api_client, raw, path):
    # when a JSON body repeats a key
    response = api_client.post("/api/v1/validate/", data=raw, content_type="application/json")
    # then it is refused with the repeated key's path, as the YAML parser does
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-Y09", path)]


def test_a_json_body_without_repeated_keys_still_parses(api_client):
    # when a JSON body has the same key at different places
    body = json.dumps({"metadata": {"name": "x"}, "spec": {"byEgressGateway": {"name": "x"}}})
    response = api_client.post("/api/v1/validate/", data=body, content_type="application/json")
    # then it is read (and validated)
    assert response.status_code == 200


def test_a_yaml_body_with_a_repeated_key_names_its_path(api_client):
    # when a YAML body repeats a key
    body = "metadata:\n  name: a\n  name: b\n"
    response = api_client.post("/api/v1/validate/", data=body, content_type="application/yaml")
    # then the error carries the repeated key's path, not just a message that mentions it
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-Y09", "metadata.name")]


def test_console_simulation_refusal_names_the_url_field(admin_client, seed_policy_record):
    # given the editor's simulate request with port 0
    body = {"document": seed_cr("2"), "namespace": "mytest", "labels": {}, "url": "http://httpbin.org:0/"}
    # when it is posted
    response = admin_client.post("/gateways/egressgateway/simulate/", json.dumps(body), content_type="application/json")
    # then the refusal names the url field
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["path"]) == ("EGRESS-SIM04", "url")
