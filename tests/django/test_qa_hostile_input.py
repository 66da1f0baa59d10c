"""QA regression (issue 10, items 1-3): three hostile bodies that answered a bare HTML 500.

1. a JSON key made of Unicode digits (``"²"``, ``"١"``) broke the API's error-path builder, which
   took every ``isdigit()`` key for a list index;
2. a YAML integer longer than Python's int/str limit (4,300 digits) escaped the loader as a
   ``ValueError`` on every YAML path, and as a traceback from ``egress validate``;
3. JSON nested about 1,000 levels deep hit a ``RecursionError`` on the console's JSON endpoints.

Each is now a 4xx in the endpoint's own error shape (or a finding with its line on the CLI).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from policies.seed import seed_text
from tests.fixtures.api import errors_of, seed_cr, send
from tests.fixtures.cli import egress, egress_process, write_file
from tests.fixtures.console import EDITOR_JSON_ENDPOINTS, SEED_POLICY, scenario_document

pytestmark = pytest.mark.django_db

UNICODE_DIGIT_KEYS = ["²", "١", "0", "12"]
HUGE_INT = "1" * 5000
SOURCE = {"namespace": "mytest", "labels": {"app": "sleep-a"}}


def yaml_with_huge_port() -> str:
    """Seed scenario 2 with its first target's port number 5,000 digits long (on line 15)."""
    lines = seed_text("scenario-2").splitlines()
    [index] = [i for i, line in enumerate(lines) if line.strip() == "number: 80"][:1]
    lines[index] = lines[index].replace("80", HUGE_INT)
    return "\n".join(lines) + "\n"


HUGE_LINE = next(i for i, line in enumerate(yaml_with_huge_port().splitlines(), 1) if HUGE_INT in line)


def nested(levels: int) -> Any:
    value: Any = "x"
    for _ in range(levels):
        value = [value]
    return value


@pytest.mark.parametrize("key", UNICODE_DIGIT_KEYS)
@pytest.mark.parametrize(
    ("url", "body", "prefix"),
    [
        ("/api/v1/simulate/", {"policies": [], "source": SOURCE, "url": "http://httpbin.org"}, ""),
        ("/api/v1/simulate/", {"policies": [], "source": SOURCE, "url": "http://httpbin.org"}, "source."),
        ("/api/v1/gateways/", {"name": "egress-b", "ports": [{"name": "h", "number": 80, "protocol": "HTTP"}]}, ""),
        (
            "/api/v1/gateways/",
            {"name": "egress-b", "ports": [{"name": "h", "number": 80, "protocol": "HTTP"}]},
            "ports[0].",
        ),
        ("/api/v1/policies/{policy}/simulate/", {"source": SOURCE, "url": "http://httpbin.org"}, ""),
    ],
)
def test_a_unicode_digit_key_is_an_unknown_field_with_its_path(api_client, api_policy, url, body, prefix, key):
    # given a body with an unknown key made of (Unicode) digits, at the top or inside an object
    body = json.loads(json.dumps(body))
    target = body["source"] if prefix == "source." else body["ports"][0] if prefix else body
    target[key] = 1
    # when it is posted
    response = send(api_client, "post", url.format(policy=api_policy.pk), body)
    # then it is refused as that unknown field, named by its path
    assert response.status_code == 400
    assert {"code": "unknown_field", "path": prefix + key} in [
        {"code": e["code"], "path": e["path"]} for e in errors_of(response)
    ]


def simulate_yaml_with_huge_port() -> str:
    """A YAML simulate body whose policy has a 5,000-digit port number."""
    policy = seed_cr("2")
    policy["spec"]["egressRules"][0]["to"][0]["port"]["number"] = "HUGE"
    text = yaml.safe_dump({"policies": [policy], "source": SOURCE, "url": "http://httpbin.org"}, sort_keys=False)
    return text.replace("number: HUGE", f"number: {HUGE_INT}")


@pytest.mark.parametrize(
    ("url", "text", "path"),
    [
        ("/api/v1/validate/", yaml_with_huge_port(), "spec.egressRules[0].to[0].port.number"),
        ("/api/v1/policies/", yaml_with_huge_port(), "spec.egressRules[0].to[0].port.number"),
        ("/api/v1/simulate/", simulate_yaml_with_huge_port(), "policies[0].spec.egressRules[0].to[0].port.number"),
    ],
)
def test_a_huge_yaml_integer_is_a_finding_with_its_line_in_the_api(api_client, api_gateway, url, text, path):
    # given a YAML body whose port number has 5,000 digits
    line = next(i for i, row in enumerate(text.splitlines(), 1) if HUGE_INT in row)
    # when it is sent as YAML
    response = api_client.post(url, data=text, content_type="application/yaml")
    # then 400 names the unreadable value, its path and its line
    assert response.status_code == 400
    [error] = errors_of(response)
    assert (error["code"], error["path"]) == ("EGRESS-Y03", path)
    assert "an integer may have at most 4300 digits" in error["message"]
    assert error["message"].endswith(f"(line {line})")


def test_a_huge_yaml_integer_in_a_put_is_refused(api_client, api_policy):
    # given the draft's ETag
    etag = api_client.get(f"/api/v1/policies/{api_policy.pk}/")["ETag"]
    # when a YAML replacement with a 5,000-digit integer is PUT
    response = api_client.put(
        f"/api/v1/policies/{api_policy.pk}/",
        data=yaml_with_huge_port(),
        content_type="application/yaml",
        headers={"If-Match": etag},
    )
    # then 400 with the finding, nothing saved
    assert response.status_code == 400
    assert [e["code"] for e in errors_of(response)] == ["EGRESS-Y03"]


def test_a_huge_yaml_integer_in_the_console_preview_is_a_finding(admin_client, seed_gateway_record):
    # when the YAML editor's text holds a 5,000-digit integer
    response = admin_client.post(
        "/gateways/egressgateway/preview/",
        data=json.dumps({"text": yaml_with_huge_port()}),
        content_type="application/json",
    )
    # then the preview lists the finding at its line (the answer is 200: the preview shows problems)
    assert response.status_code in (200, 400)
    findings = response.json()["findings"]
    assert [(f["code"], f["line"]) for f in findings] == [("EGRESS-Y03", HUGE_LINE)]


@pytest.mark.parametrize("how", ["paste", "upload"])
def test_a_huge_yaml_integer_on_the_import_page_is_a_finding(admin_client, seed_gateway_record, how):
    # when the import page gets the text pasted or uploaded
    text = yaml_with_huge_port()
    if how == "paste":
        response = admin_client.post("/import/", {"text": text})
    else:
        upload = SimpleUploadedFile("policy.yaml", text.encode(), content_type="application/yaml")
        response = admin_client.post("/import/", {"file": upload})
    # then the page is shown again with the finding and its line
    assert response.status_code == 400
    assert [(f["code"], f["line"]) for f in response.context["findings"]] == [("EGRESS-Y03", HUGE_LINE)]


def test_a_huge_yaml_integer_is_a_cli_finding_not_a_traceback(tmp_path):
    # given a file with a 5,000-digit integer
    path = write_file(tmp_path, "huge.yaml", yaml_with_huge_port())
    # when egress validate reads it
    code, out, err = egress("validate", path)
    # then it exits 1 with the finding on its line
    assert code == 1
    assert out.startswith(f"{path}:{HUGE_LINE}: EGRESS-Y03 error spec.egressRules[0].to[0].port.number: ")
    assert "Traceback" not in out + err


@pytest.mark.parametrize("url", EDITOR_JSON_ENDPOINTS)
@pytest.mark.parametrize("levels", [60, 1000, 100_000])
def test_deeply_nested_json_on_a_console_endpoint_is_a_400(admin_client, seed_policy_record, url, levels):
    # given an editor body nested far deeper than any policy
    body = {"document": nested(levels), "version": 1}
    raw = json.dumps(body) if levels < 500 else '{"version": 1, "document": ' + "[" * levels + "]" * levels + "}"
    # when it is posted
    response = admin_client.post(url, data=raw, content_type="application/json")
    # then a JSON 400 refuses it
    assert response.status_code == 400
    assert response.json()["code"] == "EGRESS-Y05"


def test_a_read_only_viewer_gets_the_same_400_for_deep_nesting(client, django_user_model, seed_policy_record):
    # given a signed-in user without any permission
    client.force_login(django_user_model.objects.create_user("viewer"))
    # when they post a 1,000-level body to the preview
    raw = '{"document": ' + "[" * 1000 + "]" * 1000 + "}"
    response = client.post("/gateways/egressgateway/preview/", data=raw, content_type="application/json")
    # then it is refused for its depth
    assert response.status_code == 400
    assert response.json()["code"] == "EGRESS-Y05"
    assert response.json()["message"] == "Nesting is deeper than 50 levels."


def test_a_document_at_the_depth_bound_is_still_previewed(admin_client, seed_gateway_record):
    # given a valid policy (a few levels deep) sent as the editor sends it
    body = {"document": scenario_document("2")}
    # when previewed / then it is accepted
    response = admin_client.post("/gateways/egressgateway/preview/", data=body, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["ok"] is True


@pytest.mark.parametrize("number", ["²", "١", "9" * 19, "9" * 5000])
def test_a_revision_number_no_revision_can_have_gets_a_json_404(api_client, api_policy, number):
    # when a revision is asked for by a number that is not one (or cannot exist)
    response = api_client.get(f"/api/v1/policies/{api_policy.pk}/revisions/{number}/")
    # then the API's JSON 404
    assert response.status_code == 404
    assert [e["code"] for e in errors_of(response)] == ["not_found"]


@pytest.mark.parametrize(("number", "status"), [("²", 200), ("١", 200), ("9" * 19, 404), ("9" * 5000, 404)])
def test_an_export_of_an_impossible_revision_number_is_never_a_500(admin_client, seed_policy_record, number, status):
    # when the export is asked for a revision by a number that is not one (the draft) or cannot exist (404)
    response = admin_client.get(f"/policies/{SEED_POLICY}/export/cr.yaml", {"revision": number})
    # then
    assert response.status_code == status


@pytest.mark.parametrize("ports", ["²/HTTP", "١/HTTP"])
def test_unicode_digits_in_gateway_ports_are_a_usage_error(ports):
    # when --gateway-ports names a port in superscript or Arabic-Indic digits
    result = egress_process("validate", "--gateway-ports", ports, "x.yaml")
    # then argparse refuses it with the option's own message
    assert result.returncode == 2
    assert f"'{ports}' is not NUMBER/PROTOCOL" in result.stderr


def test_a_url_port_in_superscript_digits_is_refused_by_the_console_simulate(admin_client, seed_gateway_record):
    # when the Simulate tab's URL has its port in superscript digits
    body = {"document": scenario_document("2"), "namespace": "mytest", "url": "http://httpbin.org:²/"}
    response = admin_client.post("/gateways/egressgateway/simulate/", data=body, content_type="application/json")
    # then a JSON 400 names the URL (the API's serializer already refuses it)
    assert response.status_code == 400
    assert response.json()["code"] == "EGRESS-SIM01"


@pytest.mark.parametrize("spelling", ["١", "+{id}", " {id}", "0{id}_0", "{id}.0"])
def test_a_policy_id_is_only_read_from_ascii_digits(api_client, api_policy, spelling):
    # when a policy URL spells an id the way int() would also read it
    response = api_client.get(f"/api/v1/policies/{spelling.format(id=api_policy.pk)}/")
    # then it names no policy
    assert response.status_code == 404
    assert [e["code"] for e in errors_of(response)] == ["not_found"]
