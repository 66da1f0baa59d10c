"""QA regression (issue 10, item 10): large but allowed inputs were slow, and their answers huge.

A 5,000-rule document (1.1 MB, under the 2 MiB form limit) took 3 s to preview; a 3,000-rule
``/api/v1/validate/`` answered 3.3 MB of findings. The console and API now bound a policy to
1,000 sources + destinations and YAML text to 256 KiB (413 saying so, before any work), and list
at most 100 findings, the most severe, plus one ``EGRESS-E006`` counting the rest. Timings are
printed by ``bench/large_inputs.py``, not asserted here.
"""

from __future__ import annotations

import json

import pytest

from policies import services
from policies.core.yamlio import dump_yaml
from tests.fixtures.api import errors_of, send
from tests.fixtures.console import SEED_POLICY, scenario_document

pytestmark = pytest.mark.django_db
PREVIEW = "/gateways/egressgateway/preview/"


def policy_of(rules: int, gateway_port: int = 80) -> dict:
    """Scenario 2 with ``rules`` one-source, one-target rules (2 entries each)."""
    document = scenario_document("2")
    document["spec"]["egressRules"] = [
        {
            "from": [{"namespace": "mytest"}],
            "to": [
                {
                    "name": f"svc-{r}",
                    "hosts": [f"svc-{r}.example.com"],
                    "port": {"name": "http", "number": 80, "protocol": "HTTP"},
                    "byEgressGateway": {"port": gateway_port},
                }
            ],
        }
        for r in range(rules)
    ]
    return document


TOO_MANY = policy_of(services.MAX_POLICY_ENTRIES // 2 + 1)
UNDECLARED = policy_of(150, gateway_port=8080)  # NB: 150 errors (V17), over the 100 listed


def post(client, url, body):
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_the_preview_refuses_too_many_entries_before_any_work(admin_client, seed_gateway_record):
    # when the editor previews 1,002 sources and destinations
    response = post(admin_client, PREVIEW, {"document": TOO_MANY})
    # then 413 says how many there are and what the limit is
    assert response.status_code == 413
    body = response.json()
    assert (body["code"], body["path"]) == ("EGRESS-E005", "spec.egressRules")
    assert body["message"].startswith(
        "The policy has 1002 sources and destinations; the console and API accept at most 1000 in one policy"
    )


def test_the_preview_refuses_yaml_text_over_its_limit(admin_client, seed_gateway_record):
    # when the YAML tab sends text over 256 KiB
    text = dump_yaml(scenario_document("2")) + "#" * services.MAX_YAML_BYTES
    response = post(admin_client, PREVIEW, {"text": text})
    # then 413 says so, and how to send it instead
    assert response.status_code == 413
    assert response.json()["code"] == "EGRESS-E005"
    assert "at most 262144 bytes of YAML" in response.json()["message"]


def test_the_api_refuses_too_many_entries_in_its_error_shape(api_client):
    response = send(api_client, "post", "/api/v1/validate/", TOO_MANY)
    assert response.status_code == 413
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-E005", "spec.egressRules")]


def test_the_api_refuses_a_yaml_body_over_its_limit(api_client):
    text = dump_yaml(scenario_document("2")) + "#" * services.MAX_YAML_BYTES
    response = api_client.post("/api/v1/validate/", data=text, content_type="application/yaml")
    assert response.status_code == 413
    assert "at most 262144 bytes of YAML" in errors_of(response)[0]["message"]


def test_validate_lists_the_most_severe_findings_and_counts_the_rest(api_client, api_gateway):
    # when a policy with 150 errors (and infos) is validated
    findings = send(api_client, "post", "/api/v1/validate/", UNDECLARED).json()["findings"]
    # then 100 errors are listed, and one more finding counts what was left out
    assert len(findings) == services.MAX_FINDINGS + 1
    assert {f["severity"] for f in findings[:-1]} == {"error"}
    assert findings[-1]["code"] == "EGRESS-E006"
    assert findings[-1]["severity"] == "error"
    assert findings[-1]["message"] == "50 more findings are not listed; fix the listed ones and check again."


def test_a_refused_save_lists_at_most_the_cap(admin_client, seed_policy_record):
    body = {"document": UNDECLARED, "version": seed_policy_record.draft.version}
    response = post(admin_client, f"/policies/{SEED_POLICY}/save/", body)
    assert response.status_code == 400
    findings = response.json()["findings"]
    assert [f["code"] for f in findings].count("EGRESS-V17") == services.MAX_FINDINGS
    assert findings[-1]["code"] == "EGRESS-E006"


def test_the_preview_caps_its_findings_but_counts_them_all(admin_client, seed_gateway_record):
    body = post(admin_client, PREVIEW, {"document": UNDECLARED}).json()
    assert len(body["findings"]) == services.MAX_FINDINGS + 1
    assert body["counts"]["error"] == 150


def test_the_import_page_explains_a_paste_over_the_yaml_limit(admin_client, seed_gateway_record):
    text = dump_yaml(scenario_document("2")) + "#" * services.MAX_YAML_BYTES
    response = admin_client.post("/import/", {"text": text})
    assert response.status_code == 413
    assert "at most 262144 bytes of YAML" in response.context["refusal"].message


def test_the_api_simulate_refuses_policies_over_the_limit(api_client):
    body = {"policies": [TOO_MANY], "source": {"namespace": "mytest"}, "url": "http://svc-1.example.com"}
    response = send(api_client, "post", "/api/v1/simulate/", body)
    assert response.status_code == 413
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-E005", "policies")]
