"""The Simulate tab's mesh: a cluster's last-checked outbound mode, or the mode chosen by hand."""

from __future__ import annotations

import json

import pytest

from policies.models import Cluster
from tests.fixtures.console import scenario_document

pytestmark = pytest.mark.django_db
SIMULATE = "/gateways/egressgateway/simulate/"
MATRIX = "/gateways/egressgateway/reachability/"
UNKNOWN_HOST = {"namespace": "default", "labels": {"app": "nginx"}, "url": "http://unlisted.example/"}


def post(client, endpoint, **body):
    payload = {"document": scenario_document("2"), "method": "GET"} | body
    return client.post(endpoint, data=json.dumps(payload), content_type="application/json")


@pytest.fixture
def clusters(db):
    Cluster.objects.create(name="strict", in_cluster=True, outbound_mode="REGISTRY_ONLY")
    Cluster.objects.create(name="open", in_cluster=True, outbound_mode="ALLOW_ANY")
    Cluster.objects.create(name="unchecked", in_cluster=True)


@pytest.mark.parametrize(
    ("choice", "status"),
    [
        ({}, 502),
        ({"meshMode": "REGISTRY_ONLY"}, 502),
        ({"meshMode": "ALLOW_ANY"}, 200),
        ({"cluster": "strict"}, 502),
        ({"cluster": "open"}, 200),
        ({"cluster": "strict", "meshMode": "ALLOW_ANY"}, 502),
    ],
    ids=["default", "manual-registry-only", "manual-allow-any", "strict-cluster", "open-cluster", "cluster-wins"],
)
def test_an_unregistered_host_passes_only_under_allow_any(admin_client, seed_gateway_record, clusters, choice, status):
    result = post(admin_client, SIMULATE, **UNKNOWN_HOST, **choice).json()
    assert result["status"] == status


@pytest.mark.parametrize(
    ("choice", "code", "path"),
    [
        ({"cluster": "unchecked"}, "CLUSTER_MODE_UNKNOWN", "cluster"),
        ({"cluster": "nope"}, "CLUSTER_MODE_UNKNOWN", "cluster"),
        ({"meshMode": "DENY"}, "EGRESS-E010", "meshMode"),
    ],
    ids=["mode-unknown", "no-such-cluster", "bad-mode"],
)
def test_an_unusable_mesh_choice_is_refused_on_its_field(
    admin_client, seed_gateway_record, clusters, choice, code, path
):
    response = post(admin_client, SIMULATE, **UNKNOWN_HOST, **choice)
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["path"]) == (code, path)


def test_the_matrix_follows_the_chosen_cluster(admin_client, seed_gateway_record, clusters):
    strict = post(admin_client, MATRIX, cluster="strict").json()
    assert post(admin_client, MATRIX, meshMode="REGISTRY_ONLY").json() == strict
    assert post(admin_client, MATRIX, cluster="open").json()["sources"] == strict["sources"]


def test_the_editor_offers_every_cluster_with_its_mode(admin_client, seed_gateway_record, clusters):
    page = admin_client.get("/gateways/egressgateway/new-policy/").content.decode()
    assert '<option value="open" data-mode="ALLOW_ANY">open · ALLOW_ANY</option>' in page
    assert 'value="unchecked" data-mode="" disabled' in page
    assert 'data-role="sim-mode"' in page
