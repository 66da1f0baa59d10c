"""``POST /api/v1/validate/`` and the simulate endpoints: same answers as the core and the CLI."""

import pytest

from policies.core.document import dump_policy
from policies.core.expansion import expand_policy
from policies.core.simulator import Request, build_mesh
from policies.core.yamlio import load_one
from policies.seed import seed_text
from tests.fixtures.api import BodyChecks, EndpointChecks, errors_of, seed_cr, send
from tests.fixtures.seed import seed_policy

pytestmark = pytest.mark.django_db

SLEEP_A = {"namespace": "mytest", "labels": {"app": "sleep-a"}}
DENY_POST = load_one(seed_text("authorization-deny-post")).data


def core_answer(scenario, source, url, method="GET", extra=()):
    """What the core simulator (and so ``egress simulate --json``) answers for a seed scenario."""
    objects = [*expand_policy(seed_policy(scenario)), *extra]
    return build_mesh(objects).simulate(Request(source["namespace"], source["labels"], url, method)).as_dict()


class TestValidate(EndpointChecks, BodyChecks):
    method = "post"
    path = "/api/v1/validate/"
    body = seed_cr("2")

    @pytest.fixture
    def api_objects(self, db):
        return {}

    @pytest.mark.parametrize("scenario", ["1", "2", "2a", "3", "4"])
    def test_seed_policies_are_valid(self, api_client, scenario):
        response = send(api_client, "post", self.path, seed_cr(scenario))
        assert response.status_code == 200
        assert response.json()["valid"] is True
        assert {f["severity"] for f in response.json()["findings"]} <= {"info", "warning"}

    def test_every_finding_is_returned_with_its_line_for_yaml(self, api_client):
        text = dump_policy(seed_policy("1")).replace("namespace: istio-egress", "namespace: default")
        response = api_client.post(self.path, data=text, content_type="application/yaml")
        assert response.status_code == 200
        assert response.json()["valid"] is False
        errors = [f for f in response.json()["findings"] if f["severity"] == "error"]
        assert errors == [
            {
                "code": "EGRESS-V2",
                "severity": "error",
                "path": "metadata.namespace",
                "line": 5,
                "message": "metadata.namespace is 'default'; ASMEgressTrafficPolicy objects must live in namespace "
                "istio-egress.",
            }
        ]

    def test_a_schema_error_is_a_finding_not_a_400(self, api_client):
        document = seed_cr("1")
        document["spec"]["egressRules"][0]["to"][0]["port"]["number"] = "80"
        response = send(api_client, "post", self.path, document)
        assert response.status_code == 200
        assert response.json()["valid"] is False
        assert [(f["code"], f["path"]) for f in response.json()["findings"]] == [
            ("EGRESS-S01", "spec.egressRules[0].to[0].port.number")
        ]

    def test_yaml_response_when_accepted(self, api_client):
        response = send(api_client, "post", self.path, seed_cr("1"), HTTP_ACCEPT="application/yaml")
        assert response["Content-Type"] == "application/yaml; charset=utf-8"
        assert response.content.decode().startswith("valid: true\nfindings:\n")


class TestSimulate(EndpointChecks, BodyChecks):
    method = "post"
    path = "/api/v1/simulate/"
    body = {"policies": [seed_cr("2")], "source": SLEEP_A, "url": "http://httpbin.org/anything"}

    @pytest.fixture
    def api_objects(self, db):
        return {}

    @pytest.mark.parametrize(
        ("scenario", "source", "url", "method", "status"),
        [
            ("2", SLEEP_A, "http://httpbin.org/anything", "GET", 200),
            ("2", {"namespace": "default", "labels": {"app": "nginx"}}, "http://www.httpbin.org", "GET", 502),
            ("3", SLEEP_A, "https://www.httpbin.org", "GET", 200),
            ("3", {"namespace": "default", "labels": {"app": "nginx"}}, "https://www.httpbin.org", "GET", "reset"),
            ("4", SLEEP_A, "https://www.alibabacloud.com", "GET", 200),
        ],
    )
    def test_answers_exactly_what_the_core_simulator_answers(self, api_client, scenario, source, url, method, status):
        body = {
            "policies": [seed_cr(scenario)],
            "source": source,
            "url": url,
            "method": method,
            "meshMode": "REGISTRY_ONLY",
        }
        response = send(api_client, "post", self.path, body)
        assert response.status_code == 200
        assert response.json() == core_answer(scenario, source, url, method)
        assert response.json()["status"] == status

    def test_istio_objects_are_simulated_as_given(self, api_client):
        # given scenario 1 expanded by hand plus the seed's DENY AuthorizationPolicy
        objects = [*expand_policy(seed_policy("1")), DENY_POST]
        body = {"policies": objects, "source": SLEEP_A, "url": "http://www.httpbin.org", "method": "POST"}
        # when
        response = send(api_client, "post", self.path, body)
        # then
        assert response.json() == core_answer("1", SLEEP_A, "http://www.httpbin.org", "POST", [DENY_POST])
        assert (response.json()["status"], response.json()["body"]) == (403, "RBAC: access denied")

    def test_no_policies_means_the_sidecar_blocks(self, api_client):
        response = send(api_client, "post", self.path, {"source": SLEEP_A, "url": "http://www.httpbin.org"})
        assert response.json()["status"] == 502

    def test_an_invalid_policy_reports_findings_under_its_body_path(self, api_client):
        document = seed_cr("2")
        document["metadata"]["namespace"] = "default"
        body = {"policies": [DENY_POST, document], "source": SLEEP_A, "url": "http://httpbin.org"}
        response = send(api_client, "post", self.path, body)
        assert response.status_code == 400
        assert [(e["code"], e["path"]) for e in errors_of(response)] == [
            ("EGRESS-V2", "policies[1].metadata.namespace")
        ]

    @pytest.mark.parametrize(
        ("change", "path", "code"),
        [
            ({"url": "ftp://x.example"}, "url", "invalid"),
            ({"url": "http://x.example:99999/"}, "url", "invalid"),
            ({"method": "BREW"}, "method", "invalid_choice"),
            ({"meshMode": "OPEN"}, "meshMode", "invalid_choice"),
            ({"source": {"namespace": "Bad_NS"}}, "source.namespace", "invalid"),
            ({"source": None}, "source", "null"),
            ({"policies": [{"kind": "Thing"}]}, "policies[0]", "invalid"),
        ],
    )
    def test_bad_fields_get_400_with_their_paths(self, api_client, change, path, code):
        response = send(api_client, "post", self.path, {**self.body, **change})
        assert response.status_code == 400
        assert [(e["path"], e["code"]) for e in errors_of(response)] == [(path, code)]

    def test_an_object_the_simulator_cannot_read_gets_400_with_its_code(self, api_client):
        body = {**self.body, "policies": [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}]}
        response = send(api_client, "post", self.path, body)
        assert response.status_code == 400
        assert [e["code"] for e in errors_of(response)] == ["EGRESS-SIM11"]


class TestSimulateAgainstDraft(EndpointChecks, BodyChecks):
    method = "post"
    path = "/api/v1/policies/{policy}/simulate/"
    body = {"source": SLEEP_A, "url": "http://httpbin.org/anything"}

    def test_simulates_against_the_stored_draft(self, api_client, api_objects, reader_client):
        response = send(reader_client, "post", self.url(api_objects), {**self.body, "method": "GET"})
        assert response.status_code == 200
        assert response.json() == core_answer("2", SLEEP_A, "http://httpbin.org/anything")

    def test_an_unknown_policy_gets_404(self, api_client, db):
        response = send(api_client, "post", "/api/v1/policies/42/simulate/", self.body)
        assert response.status_code == 404
