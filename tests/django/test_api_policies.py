"""``/api/v1/policies/``: the policy as its custom resource, with ETag / If-Match concurrency."""

import pytest

from policies.core.document import dump_policy
from policies.models import EgressPolicy, PolicyDraft
from tests.fixtures.api import BodyChecks, EndpointChecks, WriteChecks, codes_of, errors_of, seed_cr, send
from tests.fixtures.seed import seed_policy

pytestmark = pytest.mark.django_db

DETAIL = "/api/v1/policies/{policy}/"


def with_http_port(document, number):
    """The document with the first target's port number changed."""
    document["spec"]["egressRules"][0]["to"][0]["port"]["number"] = number
    return document


class TestListPolicies(EndpointChecks):
    path = "/api/v1/policies/"

    def test_lists_summaries(self, api_client, api_policy):
        response = api_client.get(self.path)
        assert response.status_code == 200
        [summary] = response.json()
        assert {k: v for k, v in summary.items() if k not in ("createdAt", "updatedAt")} == {
            "id": api_policy.pk,
            "name": "egress-by-egressgateway",
            "namespace": "istio-egress",
            "gateway": "egressgateway",
            "draftVersion": 1,
            "latestRevision": 1,
            "url": f"/api/v1/policies/{api_policy.pk}/",
        }


class TestCreatePolicy(WriteChecks, BodyChecks):
    path = "/api/v1/policies/"
    body = seed_cr("2")

    @pytest.fixture
    def api_objects(self, api_gateway):
        return {}

    def test_creates_policy_draft_and_revision_and_answers_201_with_location(self, api_client, api_gateway):
        # when
        response = send(api_client, "post", self.path, seed_cr("2"))
        # then
        assert response.status_code == 201
        policy = EgressPolicy.objects.get()
        assert response.json()["id"] == policy.pk
        assert response["Location"] == f"/api/v1/policies/{policy.pk}/"
        assert response["ETag"] == '"1"'
        assert policy.draft.version == 1
        assert list(policy.revisions.values_list("number", flat=True)) == [1]

    def test_yaml_body_is_accepted(self, api_client, api_gateway):
        response = api_client.post(self.path, data=dump_policy(seed_policy("3")), content_type="application/yaml")
        assert response.status_code == 201
        assert EgressPolicy.objects.get().draft.document == seed_cr("3")

    def test_every_validation_error_is_reported_and_nothing_is_saved(self, api_client, api_gateway):
        document = with_http_port(seed_cr("2"), 15001)
        document["metadata"]["namespace"] = "default"
        response = send(api_client, "post", self.path, document)
        assert response.status_code == 400
        assert [(e["code"], e["path"]) for e in errors_of(response)] == [
            ("EGRESS-V2", "metadata.namespace"),
            ("EGRESS-V12", "spec.egressRules[0].to[0].port.number"),
        ]
        assert not EgressPolicy.objects.exists()

    def test_yaml_findings_carry_their_source_line(self, api_client, api_gateway):
        text = dump_policy(seed_policy("1")).replace("namespace: istio-egress", "namespace: default")
        response = api_client.post(self.path, data=text, content_type="application/yaml")
        assert response.status_code == 400
        assert errors_of(response)[0]["message"].endswith("(line 5)")

    def test_a_wrong_type_is_a_schema_error(self, api_client, api_gateway):
        response = send(api_client, "post", self.path, with_http_port(seed_cr("2"), "80"))
        assert response.status_code == 400
        assert errors_of(response) == [
            {
                "code": "EGRESS-S01",
                "path": "spec.egressRules[0].to[0].port.number",
                "message": "Wrong type at spec.egressRules[0].to[0].port.number: "
                "Input should be a valid integer (got '80').",
            }
        ]

    def test_an_unknown_gateway_gets_400(self, api_client, db):
        response = send(api_client, "post", self.path, seed_cr("2"))
        assert response.status_code == 400
        assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-E004", "spec.byEgressGateway.name")]

    def test_a_second_policy_for_the_gateway_gets_409(self, api_client, api_policy):
        response = send(api_client, "post", self.path, seed_cr("3"))
        assert response.status_code == 409
        assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-E003", "spec.byEgressGateway.name")]


class TestGetPolicy(EndpointChecks):
    path = DETAIL

    def test_returns_the_draft_cr_with_its_version_as_etag(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects))
        assert response.status_code == 200
        assert response["ETag"] == '"1"'
        assert response.json() == seed_cr("2")

    def test_yaml_is_the_canonical_document(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects), HTTP_ACCEPT="application/yaml")
        assert response["Content-Type"] == "application/yaml; charset=utf-8"
        assert response.content.decode() == dump_policy(seed_policy("2"))

    def test_unsupported_accept_gets_406(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects), HTTP_ACCEPT="text/csv")
        assert response.status_code == 406
        assert codes_of(response) == ["not_acceptable"]

    @pytest.mark.parametrize(
        "path",
        [
            "/api/v1/policies/999/",
            "/api/v1/policies/abc/",
            "/api/v1/nothing-here/",
            # issue 10, item 11: a newline (%0A) fell through to the console's HTML 404
            "/api/v1/%0A",
            "/api/v1/gateways/%0A/",
            "/api/v1/policies/1/%0Amanifests/",
            "/api/v1/validate/%0A",
        ],
    )
    def test_unknown_urls_get_404_in_the_error_shape(self, api_client, db, path):
        response = api_client.get(path)
        assert response.status_code == 404
        assert codes_of(response) == ["not_found"]


class TestReplacePolicy(WriteChecks, BodyChecks):
    method = "put"
    path = DETAIL
    body = seed_cr("2")
    headers = {"If-Match": '"1"'}

    def test_saves_a_new_draft_version_and_returns_its_etag(self, api_client, api_objects):
        response = send(
            api_client, "put", self.url(api_objects), with_http_port(seed_cr("2"), 8080), headers=self.headers
        )
        assert response.status_code == 200
        assert response["ETag"] == '"2"'
        assert response.json()["spec"]["egressRules"][0]["to"][0]["port"]["number"] == 8080
        assert PolicyDraft.objects.get().version == 2

    def test_without_if_match_gets_428(self, api_client, api_objects):
        response = send(api_client, "put", self.url(api_objects), seed_cr("2"))
        assert response.status_code == 428
        assert [(e["code"], e["path"]) for e in errors_of(response)] == [("precondition_required", "If-Match")]

    def test_a_stale_if_match_gets_412_and_keeps_the_newer_draft(self, api_client, api_objects):
        # given someone saved version 2 meanwhile
        send(api_client, "put", self.url(api_objects), with_http_port(seed_cr("2"), 8080), headers=self.headers)
        # when we write based on version 1
        response = send(api_client, "put", self.url(api_objects), seed_cr("2"), headers=self.headers)
        # then
        assert response.status_code == 412
        assert errors_of(response) == [
            {
                "code": "precondition_failed",
                "path": "If-Match",
                "message": 'The draft is now at version 2; If-Match "1" is stale. '
                "GET it again and reapply your change.",
            }
        ]
        assert PolicyDraft.objects.get().document["spec"]["egressRules"][0]["to"][0]["port"]["number"] == 8080

    def test_if_match_star_overwrites_the_current_version(self, api_client, api_objects):
        changed = with_http_port(seed_cr("2"), 8080)
        response = send(api_client, "put", self.url(api_objects), changed, headers={"If-Match": "*"})
        assert response.status_code == 200
        assert response["ETag"] == '"2"'

    def test_an_unchanged_put_keeps_the_etag(self, api_client, api_objects):
        # given the draft at version 1 / when the same CR is PUT again
        response = send(api_client, "put", self.url(api_objects), seed_cr("2"), headers=self.headers)
        # then nothing changed, so other clients' ETags stay current
        assert response.status_code == 200
        assert response["ETag"] == '"1"'

    def test_an_invalid_document_gets_400_and_keeps_the_draft(self, api_client, api_objects):
        response = send(
            api_client, "put", self.url(api_objects), with_http_port(seed_cr("2"), 15001), headers=self.headers
        )
        assert response.status_code == 400
        assert codes_of(response) == ["EGRESS-V12"]
        assert PolicyDraft.objects.get().version == 1

    def test_moving_the_policy_to_another_gateway_gets_400(self, api_client, api_objects):
        document = seed_cr("2")
        document["metadata"]["name"] = "egress-by-other"
        document["spec"]["byEgressGateway"]["name"] = "other"
        response = send(api_client, "put", self.url(api_objects), document, headers=self.headers)
        assert response.status_code == 400
        assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-V4", "spec.byEgressGateway.name")]


class TestPatchPolicy(WriteChecks, BodyChecks):
    method = "patch"
    path = DETAIL
    body = {"metadata": {"labels": {"team": "platform"}}}
    headers = {"If-Match": '"1"'}

    def test_merge_patch_adds_replaces_and_removes_keys(self, api_client, api_objects):
        # given a patch that adds a label and drops the upgrade of the first target
        rule = seed_cr("2")["spec"]["egressRules"][0]
        del rule["to"][0]["httpsUpgrade"]
        patch = {"metadata": {"labels": {"team": "platform"}}, "spec": {"egressRules": [rule]}}
        # when
        response = api_client.patch(self.url(api_objects), data=patch, format="json", headers=self.headers)
        # then
        assert response.status_code == 200
        assert response["ETag"] == '"2"'
        assert response.json()["metadata"]["labels"] == {"team": "platform"}
        assert "httpsUpgrade" not in response.json()["spec"]["egressRules"][0]["to"][0]

    def test_null_removes_a_key_with_the_merge_patch_media_type(self, api_client, api_objects):
        send(api_client, "patch", self.url(api_objects), self.body, headers=self.headers)
        response = api_client.patch(
            self.url(api_objects),
            data=b'{"metadata": {"labels": null}}',
            content_type="application/merge-patch+json",
            headers={"If-Match": '"2"'},
        )
        assert response.status_code == 200
        assert "labels" not in response.json()["metadata"]

    def test_without_if_match_gets_428(self, api_client, api_objects):
        response = api_client.patch(self.url(api_objects), data=self.body, format="json")
        assert response.status_code == 428

    def test_a_stale_if_match_gets_412(self, api_client, api_objects):
        response = api_client.patch(self.url(api_objects), data=self.body, format="json", headers={"If-Match": '"7"'})
        assert response.status_code == 412

    def test_a_patch_that_breaks_the_policy_gets_400_with_the_finding(self, api_client, api_objects):
        patch = {"metadata": {"namespace": "default"}}
        response = api_client.patch(self.url(api_objects), data=patch, format="json", headers=self.headers)
        assert response.status_code == 400
        assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-V2", "metadata.namespace")]


class TestDeletePolicy(WriteChecks):
    method = "delete"
    path = DETAIL

    def test_deletes_the_policy_with_draft_and_revisions(self, api_client, api_objects):
        response = api_client.delete(self.url(api_objects))
        assert response.status_code == 204
        assert not EgressPolicy.objects.exists()
        assert not PolicyDraft.objects.exists()

    def test_a_stale_if_match_gets_412_and_keeps_it(self, api_client, api_objects):
        response = api_client.delete(self.url(api_objects), headers={"If-Match": '"5"'})
        assert response.status_code == 412
        assert EgressPolicy.objects.exists()

    def test_then_the_gateway_can_be_deleted(self, api_client, api_objects):
        api_client.delete(self.url(api_objects))
        assert api_client.delete("/api/v1/gateways/egressgateway/").status_code == 204


class TestRevisions(EndpointChecks):
    path = "/api/v1/policies/{policy}/revisions/"

    def test_lists_revisions_newest_first_without_documents(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects))
        assert response.status_code == 200
        [revision] = response.json()
        assert {k: v for k, v in revision.items() if k not in ("createdAt", "contentHash")} == {
            "number": 1,
            "message": "Seed scenario 2",
            "author": "editor",
        }
        assert len(revision["contentHash"]) == 64


class TestRevisionDetail(EndpointChecks):
    path = "/api/v1/policies/{policy}/revisions/1/"

    def test_returns_the_revision_with_its_document(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects))
        assert response.status_code == 200
        assert response.json()["document"] == seed_cr("2")

    def test_an_unknown_number_gets_404(self, api_client, api_objects):
        response = api_client.get(f"/api/v1/policies/{api_objects['policy']}/revisions/9/")
        assert response.status_code == 404
        assert errors_of(response) == [
            {"code": "not_found", "path": "", "message": "Policy egress-by-egressgateway has no revision 9."}
        ]
