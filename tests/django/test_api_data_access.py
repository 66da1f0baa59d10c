"""The API's fast data access stays exact: compiled queries, memos, and the delete service.

``policies.selectors`` runs each hot query as SQL compiled once, and the API memoises renderings,
negotiations and simulation bodies by content. None of that may serve anything stale: a revoked
token, a deactivated user, an edited draft or a changed gateway shows on the very next request.
"""

import json

import pytest
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from policies import selectors, services
from policies.models import EgressGateway, EgressPolicy, GatewayPortRecord, PolicyDraft, PolicyRevision
from tests.fixtures.api import codes_of, errors_of, seed_cr, send

pytestmark = pytest.mark.django_db

SLEEP_A = {"namespace": "mytest", "labels": {"app": "sleep-a"}}


def manifests_url(policy_id: int, target: str = "istio") -> str:
    return f"/api/v1/policies/{policy_id}/manifests/?target={target}"


class TestDeletePolicyService:
    def test_deletes_the_policy_its_draft_and_revisions_and_frees_the_gateway(self, api_policy, editor):
        # given a stored policy with its draft and first revision
        # when
        services.delete_policy(api_policy, user=editor)
        # then
        assert (EgressPolicy.objects.count(), PolicyDraft.objects.count(), PolicyRevision.objects.count()) == (0, 0, 0)
        assert list(EgressGateway.objects.values_list("name", flat=True)) == ["egressgateway"]

    def test_the_current_version_deletes(self, api_policy, editor):
        services.delete_policy(api_policy, user=editor, expected_version=1)
        assert not EgressPolicy.objects.exists()

    def test_a_stale_version_is_refused_and_nothing_is_deleted(self, api_policy, editor):
        # given the draft moved on to version 2 (a changed document)
        services.save_draft(api_policy, seed_cr("3"), expected_version=1, user=editor)
        # when / then
        with pytest.raises(services.StaleDraft) as refused:
            services.delete_policy(api_policy, user=editor, expected_version=1)
        assert refused.value.message == "The draft is now at version 2, not 1; nothing was deleted."
        assert EgressPolicy.objects.count() == 1

    @pytest.mark.parametrize("if_match", ['"1"', "*", ' "7", "1" '])
    def test_the_api_deletes_with_a_matching_or_wildcard_if_match(self, api_client, api_objects, if_match):
        response = api_client.delete(f"/api/v1/policies/{api_objects['policy']}/", headers={"If-Match": if_match})
        assert response.status_code == 204
        assert not EgressPolicy.objects.exists()


class TestNothingIsStale:
    def test_a_revoked_token_is_refused_on_the_next_request(self, api_client, api_objects, editor):
        assert api_client.get(manifests_url(api_objects["policy"])).status_code == 200
        # when
        Token.objects.filter(user=editor).delete()
        # then
        response = api_client.get(manifests_url(api_objects["policy"]))
        assert response.status_code == 401
        assert errors_of(response) == [{"code": "authentication_failed", "path": "", "message": "Invalid token."}]

    def test_a_deactivated_user_is_refused_on_the_next_request(self, api_client, api_objects, editor):
        assert api_client.get(manifests_url(api_objects["policy"])).status_code == 200
        # when
        get_user_model().objects.filter(pk=editor.pk).update(is_active=False)
        # then
        response = api_client.get(manifests_url(api_objects["policy"]))
        assert errors_of(response) == [
            {"code": "authentication_failed", "path": "", "message": "User inactive or deleted."}
        ]

    def test_a_withdrawn_permission_is_refused_on_the_next_write(self, api_client, api_objects, editor):
        # given the editor loses every permission after a successful read
        assert api_client.get(manifests_url(api_objects["policy"])).status_code == 200
        editor.user_permissions.clear()
        # when
        response = api_client.delete(f"/api/v1/policies/{api_objects['policy']}/")
        # then
        assert (response.status_code, codes_of(response)) == (403, ["permission_denied"])

    def test_an_edited_draft_is_rendered_on_the_next_request(self, api_client, api_policy, editor):
        # given the manifests were rendered (and memoised) once
        before = api_client.get(manifests_url(api_policy.pk, "asm")).content.decode()
        document = seed_cr("2")
        document["spec"]["egressRules"][0]["to"][0]["hosts"] = ["edited.example.com"]
        # when
        services.save_draft(api_policy, document, expected_version=1, user=editor)
        after = api_client.get(manifests_url(api_policy.pk, "asm")).content.decode()
        # then
        assert ("edited.example.com" in before, "edited.example.com" in after) == (False, True)

    def test_a_renamed_gateway_is_rendered_on_the_next_request(self, api_client, api_policy):
        # given the Istio objects were rendered (and memoised) for gateway egressgateway
        before = api_client.get(manifests_url(api_policy.pk)).content.decode()
        # when the gateway is renamed (the expansion names the gateway's Service and selector)
        EgressGateway.objects.filter(pk=api_policy.gateway_id).update(name="egressgateway-b")
        after = api_client.get(manifests_url(api_policy.pk)).content.decode()
        # then
        assert ("egressgateway-b" in before, "egressgateway-b.istio-system.svc.cluster.local" in after) == (False, True)

    def test_a_removed_gateway_port_is_seen_by_the_next_simulation_of_the_same_body(self, api_client, api_gateway):
        body = {"policies": [seed_cr("2")], "source": SLEEP_A, "url": "http://httpbin.org/anything"}
        assert send(api_client, "post", "/api/v1/simulate/", body).status_code == 200
        # when the gateway loses the port 80 the policy sends through
        GatewayPortRecord.objects.filter(gateway=api_gateway, number=80).delete()
        # then the same body is checked against the gateway as it is now
        response = send(api_client, "post", "/api/v1/simulate/", body)
        assert response.status_code == 400
        assert [(e["code"], e["path"]) for e in errors_of(response)] == [
            ("EGRESS-V17", "policies[0].spec.egressRules[0].to[0].byEgressGateway.port")
        ]

    def test_a_refused_body_stays_refused(self, api_client, db):
        body = {"source": SLEEP_A, "url": "ftp://x.example"}
        first, second = (send(api_client, "post", "/api/v1/simulate/", body) for _ in range(2))
        assert [codes_of(first), codes_of(second)] == [["invalid"], ["invalid"]]

    @pytest.mark.parametrize(
        ("accept", "content_type"),
        [
            ("application/json", "application/json"),
            ("application/yaml", "application/yaml; charset=utf-8"),
            (None, "application/yaml; charset=utf-8"),
            ("application/json", "application/json"),
        ],
    )
    def test_each_accept_header_gets_its_own_format(self, api_client, api_objects, accept, content_type):
        headers = {"Accept": accept} if accept else {}
        response = api_client.get(manifests_url(api_objects["policy"], "asm"), headers=headers)
        assert response["Content-Type"] == content_type


class TestSelectors:
    def test_a_draft_snapshot_holds_the_stored_document_and_the_gateway(self, api_policy):
        snapshot = selectors.draft_snapshot(api_policy.pk)
        assert (snapshot.policy_id, snapshot.name, snapshot.version) == (api_policy.pk, "egress-by-egressgateway", 1)
        assert json.loads(snapshot.document_json) == PolicyDraft.objects.get(policy=api_policy).document
        assert snapshot.gateway == api_policy.gateway.describe()

    @pytest.mark.parametrize("policy_id", ["abc", "0", "-1", "1.5", str(2**63), "999"])
    def test_an_id_that_names_no_policy_gives_none(self, api_policy, policy_id):
        assert selectors.draft_snapshot(policy_id) is None

    @pytest.mark.parametrize("policy_id", ["abc", str(2**63), "999"])
    def test_the_api_answers_404_for_such_an_id(self, api_client, api_policy, policy_id):
        assert codes_of(api_client.get(manifests_url(policy_id))) == ["not_found"]

    def test_a_gateway_without_ports_is_described_with_none(self, db):
        EgressGateway.objects.create(name="bare", namespace="istio-system")
        assert selectors.gateway_description("bare").ports == ()
        assert selectors.gateway_description("missing") is None

    def test_a_token_user_has_the_checked_fields_and_loads_the_others_on_access(self, editor):
        key = Token.objects.create(user=editor).key
        user = selectors.token_user(key)
        assert (user.pk, user.username, user.is_active, user.is_superuser, user.is_staff) == (
            editor.pk,
            "editor",
            True,
            False,
            False,
        )
        assert user.date_joined == editor.date_joined
        assert selectors.token_user("0" * 40) is None

    def test_user_columns_are_in_the_model_field_order_from_db_expects(self):
        order = [f.attname for f in get_user_model()._meta.concrete_fields]
        assert sorted(selectors.USER_COLUMNS, key=order.index) == list(selectors.USER_COLUMNS)


class TestQueryCounts:
    """One query authenticates, one reads the draft with its gateway, one counts the request for the
    throttle (a single upsert, issue 12): no more per request."""

    def test_manifests_take_three_queries(self, api_client, api_objects, django_assert_num_queries):
        with django_assert_num_queries(3):
            assert api_client.get(manifests_url(api_objects["policy"])).status_code == 200

    def test_draft_simulation_takes_three_queries(self, api_client, api_objects, django_assert_num_queries):
        body = {"source": SLEEP_A, "url": "http://httpbin.org/anything"}
        url = f"/api/v1/policies/{api_objects['policy']}/simulate/"
        with django_assert_num_queries(3):
            assert send(api_client, "post", url, body).status_code == 200

    def test_simulation_takes_three_queries(self, api_client, api_gateway, django_assert_num_queries):
        body = {"policies": [seed_cr("2")], "source": SLEEP_A, "url": "http://httpbin.org/anything"}
        with django_assert_num_queries(3):
            assert send(api_client, "post", "/api/v1/simulate/", body).status_code == 200
