"""QA regression: removing a gateway port that the stored policy draft uses was accepted.

The draft then failed validation (simulate answered 409 EGRESS-V17) while manifests were still
rendered from it. A gateway change that would break its policy's draft is now refused with 409
and the draft's finding, and nothing is written.
"""

from __future__ import annotations

import pytest

from policies.models import EgressGateway
from tests.fixtures.api import errors_of, send

pytestmark = pytest.mark.django_db
HTTP_80 = {"name": "http-80", "number": 80, "protocol": "HTTP"}
HTTPS_443 = {"name": "https-443", "number": 443, "protocol": "HTTPS"}
HTTPS_444 = {"name": "https-444", "number": 444, "protocol": "HTTPS"}


def test_removing_a_port_the_draft_uses_is_refused(api_client, api_policy):
    # given the seed policy, whose HTTPS target goes through gateway port 444
    url = f"/api/v1/gateways/{api_policy.gateway.name}/"
    # when port 444 is removed
    response = send(api_client, "patch", url, {"ports": [HTTP_80, HTTPS_443]})
    # then 409 names the draft's use of the port, and the gateway keeps its three ports
    assert response.status_code == 409
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("EGRESS-V17", "ports")]
    assert "spec.egressRules[0].to[1].byEgressGateway.port" in errors_of(response)[0]["message"]
    assert sorted(EgressGateway.objects.get(pk=api_policy.gateway.pk).ports.values_list("number", flat=True)) == [
        80,
        443,
        444,
    ]


def test_changing_ports_the_draft_does_not_use_is_accepted(api_client, api_policy):
    # when an unused port is added
    url = f"/api/v1/gateways/{api_policy.gateway.name}/"
    extra = {"name": "http-8080", "number": 8080, "protocol": "HTTP"}
    response = send(api_client, "patch", url, {"ports": [HTTP_80, HTTPS_443, HTTPS_444, extra]})
    # then it is saved
    assert response.status_code == 200
    assert [p["number"] for p in response.json()["ports"]] == [80, 443, 444, 8080]
