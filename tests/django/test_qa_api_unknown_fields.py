"""QA regression: a misspelt field in a tool or gateway body was silently ignored.

``{"source": {"lables": ...}, "mehtod": "POST"}`` simulated a label-less GET and answered 200 as
if the request had been understood; ``{"mTLS": false}`` left mTLS on. Unknown fields are now
refused with their path (read-only fields a GET returned are still accepted back).
"""

from __future__ import annotations

import pytest

from policies.models import EgressGateway
from tests.fixtures.api import errors_of, seed_cr, send

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        (
            {"source": {"namespace": "mytest", "lables": {"app": "sleep-a"}}, "url": "http://httpbin.org"},
            ["source.lables"],
        ),
        ({"source": {"namespace": "mytest"}, "url": "http://httpbin.org", "mehtod": "POST"}, ["mehtod"]),
    ],
)
def test_a_simulate_body_with_an_unknown_field_is_refused(api_client, body, paths):
    # when a simulate body misspells a field
    response = send(api_client, "post", "/api/v1/simulate/", {"policies": [seed_cr("2")], **body})
    # then 400 names the unknown field
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("unknown_field", p) for p in paths]


def test_a_gateway_patch_with_an_unknown_field_changes_nothing(api_client, api_gateway):
    # when a PATCH misspells mtls, and a port carries an unknown key
    body = {"mTLS": False, "ports": [{"name": "http-80", "number": 80, "protocol": "HTTP", "targetPort": 8080}]}
    response = send(api_client, "patch", f"/api/v1/gateways/{api_gateway.name}/", body)
    # then both are refused with their paths and the gateway is unchanged
    assert response.status_code == 400
    assert sorted((e["code"], e["path"]) for e in errors_of(response)) == [
        ("unknown_field", "mTLS"),
        ("unknown_field", "ports[0].targetPort"),
    ]
    assert EgressGateway.objects.get(name=api_gateway.name).ports.count() == 3


def test_a_gateway_read_back_can_be_put_as_is(api_client, api_gateway):
    # given a gateway as GET returns it (with its read-only policy and createdAt)
    url = f"/api/v1/gateways/{api_gateway.name}/"
    body = send(api_client, "get", url).json()
    # when it is PUT back unchanged
    response = send(api_client, "put", url, {**body, "description": "edited"})
    # then it is accepted
    assert response.status_code == 200
    assert response.json()["description"] == "edited"
