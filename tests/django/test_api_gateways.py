"""``/api/v1/gateways/``: list, create, read, replace, patch and delete egress gateways."""

import pytest

from policies.models import EgressGateway
from tests.fixtures.api import BodyChecks, EndpointChecks, WriteChecks, codes_of, errors_of, send

pytestmark = pytest.mark.django_db

SEED_PORTS = [
    {"name": "http-80", "number": 80, "protocol": "HTTP"},
    {"name": "https-443", "number": 443, "protocol": "HTTPS"},
    {"name": "https-444", "number": 444, "protocol": "HTTPS"},
]
NEW_GATEWAY = {
    "name": "egress-b",
    "namespace": "istio-system",
    "mtls": True,
    "description": "Second gateway",
    "ports": [{"name": "http-8080", "number": 8080, "protocol": "HTTP"}],
}


class TestListGateways(EndpointChecks):
    path = "/api/v1/gateways/"

    def test_lists_every_gateway_with_ports_and_policy(self, api_client, api_policy):
        # when
        response = api_client.get(self.path)
        # then
        assert response.status_code == 200
        [gateway] = response.json()
        assert {k: v for k, v in gateway.items() if k != "createdAt"} == {
            "name": "egressgateway",
            "namespace": "istio-system",
            "mtls": True,
            "description": "Seed egress gateway",
            "ports": SEED_PORTS,
            "policy": api_policy.pk,
        }


class TestCreateGateway(WriteChecks, BodyChecks):
    path = "/api/v1/gateways/"
    body = NEW_GATEWAY

    def test_creates_the_gateway_with_its_ports(self, api_client, db):
        response = send(api_client, "post", self.path, NEW_GATEWAY)
        assert response.status_code == 201
        assert response.json()["ports"] == NEW_GATEWAY["ports"]
        assert response.json()["policy"] is None
        assert list(EgressGateway.objects.get(name="egress-b").ports.values_list("number", flat=True)) == [8080]

    def test_a_taken_name_gets_409(self, api_client, api_gateway):
        response = send(api_client, "post", self.path, {**NEW_GATEWAY, "name": "egressgateway"})
        assert response.status_code == 409
        assert errors_of(response) == [
            {"code": "conflict", "path": "name", "message": "A gateway named egressgateway already exists."}
        ]

    @pytest.mark.parametrize(
        ("change", "path", "code"),
        [
            ({"name": "Not_A_Label"}, "name", "invalid"),
            ({"ports": [{"name": "a", "number": 70000, "protocol": "HTTP"}]}, "ports[0].number", "max_value"),
            ({"ports": [{"name": "a", "number": 80, "protocol": "SMTP"}]}, "ports[0].protocol", "invalid_choice"),
            (
                {
                    "ports": [
                        {"name": "a", "number": 80, "protocol": "HTTP"},
                        {"name": "b", "number": 80, "protocol": "TCP"},
                    ]
                },
                "ports",
                "duplicate",
            ),
            ({"ports": None}, "ports", "null"),
        ],
    )
    def test_invalid_fields_get_400_with_their_paths(self, api_client, db, change, path, code):
        response = send(api_client, "post", self.path, {**NEW_GATEWAY, **change})
        assert response.status_code == 400
        assert [(e["path"], e["code"]) for e in errors_of(response)] == [(path, code)]
        assert not EgressGateway.objects.filter(name=NEW_GATEWAY["name"]).exists()

    def test_every_missing_field_is_reported_at_once(self, api_client, db):
        response = send(api_client, "post", self.path, {})
        assert response.status_code == 400
        assert [(e["path"], e["code"]) for e in errors_of(response)] == [("name", "required"), ("ports", "required")]

    def test_yaml_body_is_accepted(self, api_client, db):
        text = "name: egress-y\nports:\n- {name: tcp-443, number: 443, protocol: TCP}\n"
        response = api_client.post(self.path, data=text, content_type="application/yaml")
        assert response.status_code == 201
        assert response.json()["ports"] == [{"name": "tcp-443", "number": 443, "protocol": "TCP"}]


class TestGetGateway(EndpointChecks):
    path = "/api/v1/gateways/{gateway}/"

    def test_returns_the_gateway(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects))
        assert response.status_code == 200
        assert response.json()["ports"] == SEED_PORTS

    def test_yaml_is_returned_when_accepted(self, api_client, api_objects):
        response = api_client.get(self.url(api_objects), HTTP_ACCEPT="application/yaml")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/yaml; charset=utf-8"
        assert response.content.decode().startswith("name: egressgateway\nnamespace: istio-system\n")

    def test_an_unknown_name_gets_404(self, api_client, db):
        response = api_client.get("/api/v1/gateways/nope/")
        assert response.status_code == 404
        assert errors_of(response) == [
            {"code": "not_found", "path": "", "message": "No egress gateway with name nope."}
        ]


class TestReplaceGateway(WriteChecks, BodyChecks):
    method = "put"
    path = "/api/v1/gateways/{gateway}/"
    # NB: the seed ports stay, since the gateway's policy draft uses them (removing them is a 409).
    body = {**NEW_GATEWAY, "name": "egressgateway", "ports": SEED_PORTS + NEW_GATEWAY["ports"]}

    def test_replaces_fields_and_ports(self, api_client, api_objects):
        response = send(api_client, "put", self.url(api_objects), self.body)
        assert response.status_code == 200
        assert response.json()["ports"] == SEED_PORTS + NEW_GATEWAY["ports"]
        assert response.json()["description"] == "Second gateway"

    def test_renaming_gets_400_immutable(self, api_client, api_objects):
        response = send(api_client, "put", self.url(api_objects), NEW_GATEWAY)
        assert response.status_code == 400
        assert [(e["path"], e["code"]) for e in errors_of(response)] == [("name", "immutable")]


class TestPatchGateway(WriteChecks, BodyChecks):
    method = "patch"
    path = "/api/v1/gateways/{gateway}/"
    body = {"description": "patched"}

    def test_changes_only_the_given_fields(self, api_client, api_objects):
        response = send(api_client, "patch", self.url(api_objects), self.body)
        assert response.status_code == 200
        assert response.json()["description"] == "patched"
        assert response.json()["ports"] == SEED_PORTS


class TestDeleteGateway(WriteChecks):
    method = "delete"
    path = "/api/v1/gateways/{gateway}/"

    def test_a_gateway_with_a_policy_gets_409_and_stays(self, api_client, api_objects):
        response = api_client.delete(self.url(api_objects))
        assert response.status_code == 409
        assert errors_of(response) == [
            {
                "code": "gateway_in_use",
                "path": "",
                "message": "Gateway egressgateway still has policy egress-by-egressgateway; delete the policy first.",
            }
        ]
        assert EgressGateway.objects.filter(name="egressgateway").exists()

    def test_a_gateway_without_policy_is_deleted(self, api_client, api_gateway):
        response = api_client.delete("/api/v1/gateways/egressgateway/")
        assert response.status_code == 204
        assert not EgressGateway.objects.exists()

    def test_method_not_allowed_gets_405_in_the_error_shape(self, api_client, api_gateway):
        response = api_client.post("/api/v1/gateways/egressgateway/", data={}, format="json")
        assert response.status_code == 405
        assert codes_of(response) == ["method_not_allowed"]


class TestPatchGatewayPorts:
    """Found by schemathesis: a PATCH used to store ports with an empty protocol."""

    def test_ports_in_a_patch_need_every_field(self, api_client, api_gateway):
        response = send(api_client, "patch", "/api/v1/gateways/egressgateway/", {"ports": [{"name": "a", "number": 1}]})
        assert response.status_code == 400
        assert [(e["path"], e["code"]) for e in errors_of(response)] == [("ports[0].protocol", "required")]
        assert list(api_gateway.ports.values_list("number", flat=True)) == [80, 443, 444]
