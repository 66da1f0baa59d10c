"""``GET /api/v1/policies/{id}/manifests/?target=asm|istio``: the draft as YAML."""

import pytest

from policies.core.yamlio import load_all
from tests.fixtures.api import EndpointChecks, codes_of, errors_of

pytestmark = pytest.mark.django_db

APPLY_ORDER = ["ServiceEntry", "DestinationRule", "Gateway", "VirtualService"]


class TestManifests(EndpointChecks):
    path = "/api/v1/policies/{policy}/manifests/"

    def test_default_target_is_the_custom_resource(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects))
        assert response.status_code == 200
        [document] = load_all(response.content)
        assert document.data["kind"] == "ASMEgressTrafficPolicy"

    def test_istio_target_is_a_multi_document_stream_in_apply_order(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects) + "?target=istio")
        kinds = [document.data["kind"] for document in load_all(response.content)]
        assert sorted(set(kinds), key=APPLY_ORDER.index) == [k for k in APPLY_ORDER if k in kinds]
        assert kinds == sorted(kinds, key=APPLY_ORDER.index)
        assert response.content.decode().count("\n---\n") == len(kinds) - 1

    def test_an_unknown_target_gets_400(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects) + "?target=helm")
        assert response.status_code == 400
        assert errors_of(response) == [
            {"code": "invalid", "path": "target", "message": "Use target=asm (the custom resource) or target=istio."}
        ]

    def test_an_unknown_policy_gets_404(self, api_client, db):
        assert codes_of(api_client.get("/api/v1/policies/77/manifests/")) == ["not_found"]
