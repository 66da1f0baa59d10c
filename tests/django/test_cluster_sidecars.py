"""A cluster's Sidecars, read by its check and simulated as Istio applies them: per proxy, not per mesh.

Through the fake cluster: a namespace Sidecar with ALLOW_ANY under a REGISTRY_ONLY mesh lets that
namespace's workloads pass unknown hosts while other namespaces get 502; a Sidecar narrowing its
egress hosts hides the policy's ServiceEntries; a Sidecar list the console may not read is reported,
never simulated as if there were none; a Sidecar the simulator cannot model refuses the simulation.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from policies import review_plan, review_report
from policies.cluster.discovery import NETWORKING
from policies.cluster.errors import Forbidden
from policies.cluster.fake import FakeClusterApi
from policies.cluster.interface import ResourceType
from policies.clusters import ClusterSidecars, check_cluster
from policies.models import AuditEntry, Cluster, Review
from tests.fixtures.api import errors_of, seed_cr, send
from tests.fixtures.clusters import set_outbound_mode
from tests.fixtures.console import scenario_document
from tests.fixtures.reviews import user_in_role

pytestmark = pytest.mark.django_db
SIDECARS = ResourceType(NETWORKING, "v1", "Sidecar", "sidecars")
SIMULATE = "/gateways/egressgateway/simulate/"
UNKNOWN_HOST = "http://unlisted.example/"
POLICY_HOST = "http://httpbin.org/"


def put_sidecar(fake: FakeClusterApi, name: str, namespace: str, spec: dict[str, Any]) -> None:
    manifest = {"apiVersion": f"{NETWORKING}/v1", "kind": "Sidecar", "metadata": {"name": name, "namespace": namespace}}
    fake.apply(resource=SIDECARS, manifest={**manifest, "spec": spec})


@pytest.fixture
def strict_mesh(fake_cluster: FakeClusterApi, stored_cluster: Cluster) -> FakeClusterApi:
    """A REGISTRY_ONLY mesh whose namespace team-a has its own Sidecar with ALLOW_ANY."""
    set_outbound_mode(fake_cluster, "REGISTRY_ONLY")
    put_sidecar(fake_cluster, "default", "team-a", {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}})
    return fake_cluster


@pytest.fixture
def viewer() -> Any:
    return user_in_role("viewer")


def api_as(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def pages_as(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def checked(cluster: Cluster) -> Cluster:
    check_cluster(cluster)
    return Cluster.objects.get(pk=cluster.pk)


def simulate_page(client: Client, namespace: str, url: str, labels: dict[str, str] | None = None) -> Any:
    body = {"document": scenario_document("2"), "method": "GET", "cluster": "prod", "namespace": namespace, "url": url}
    body["labels"] = labels or {"app": "web"}
    return client.post(SIMULATE, data=json.dumps(body), content_type="application/json")


def simulate_api(client: Any, namespace: str, url: str, labels: dict[str, str] | None = None) -> Any:
    source = {"namespace": namespace, "labels": labels or {"app": "web"}}
    body = {"policies": [seed_cr("2")], "source": source, "url": url, "cluster": "prod", "meshMode": "REGISTRY_ONLY"}
    return send(client, "post", "/api/v1/simulate/", body)


def test_the_check_keeps_every_sidecar_and_names_the_allow_any_namespaces(strict_mesh, stored_cluster):
    cluster = checked(stored_cluster)

    record = ClusterSidecars.of(cluster)
    assert (record.state, record.fallback_mode, record.root_namespace) == ("read", "REGISTRY_ONLY", "istio-system")
    assert [item["metadata"] for item in record.items] == [{"name": "default", "namespace": "team-a"}]
    assert [(o.namespace, o.workloads, o.mode) for o in record.allow_any] == [("team-a", "", "ALLOW_ANY")]
    # and the audit entry summarises them without the Sidecars themselves
    summary = AuditEntry.objects.get(action="cluster.check").result["sidecars"]
    assert (summary["state"], summary["count"], summary["overrides"][0]["namespace"]) == ("read", 1, "team-a")


def test_a_namespace_sidecar_with_allow_any_passes_unknown_hosts_in_a_registry_only_mesh(
    strict_mesh, stored_cluster, admin_client, seed_gateway_record, viewer
):
    checked(stored_cluster)
    # then a workload in team-a reaches an unknown host directly, while one in another namespace gets 502
    team_a = simulate_page(admin_client, "team-a", UNKNOWN_HOST).json()
    other = simulate_page(admin_client, "team-b", UNKNOWN_HOST).json()
    assert (team_a["status"], team_a["upstream"]) == (200, "http://unlisted.example:80/")
    assert other["status"] == 502
    # and the API answers the same
    assert simulate_api(api_as(viewer), "team-a", UNKNOWN_HOST).json()["status"] == 200
    assert simulate_api(api_as(viewer), "team-b", UNKNOWN_HOST).json()["status"] == 502


def test_a_sidecar_narrowing_egress_hosts_hides_the_policys_service_entries(
    fake_cluster, stored_cluster, admin_client, seed_gateway_record, viewer
):
    set_outbound_mode(fake_cluster, "REGISTRY_ONLY")
    sleep_a = {"app": "sleep-a"}
    checked(stored_cluster)
    assert simulate_page(admin_client, "mytest", POLICY_HOST, sleep_a).json()["status"] == 200
    # when mytest's own Sidecar imports only mytest's services (not the policy's in istio-egress)
    put_sidecar(fake_cluster, "default", "mytest", {"egress": [{"hosts": ["./*"]}]})
    checked(stored_cluster)
    # then the allowed host is unknown to that proxy: 502 in a REGISTRY_ONLY mesh
    assert simulate_page(admin_client, "mytest", POLICY_HOST, sleep_a).json()["status"] == 502
    assert simulate_api(api_as(viewer), "mytest", POLICY_HOST, sleep_a).json()["status"] == 502


def test_a_namespace_sidecar_without_a_mode_falls_back_to_the_mesh_config_not_the_root_sidecar(
    fake_cluster, stored_cluster, admin_client, seed_gateway_record
):
    # given an ALLOW_ANY mesh config, a root Sidecar making the mesh REGISTRY_ONLY, and team-a's own Sidecar
    # without a mode (istio/istio pilot/pkg/model/sidecar.go initSidecarScopeInternalIndexes: MeshConfig's mode)
    set_outbound_mode(fake_cluster, "ALLOW_ANY")
    put_sidecar(fake_cluster, "default", "istio-system", {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}})
    put_sidecar(fake_cluster, "default", "team-a", {"egress": [{"hosts": ["*/*"]}]})
    cluster = checked(stored_cluster)
    assert (cluster.outbound_mode, cluster.outbound_mode_source) == ("REGISTRY_ONLY", "sidecar")
    # then team-a passes unknown hosts through, and a namespace under the root Sidecar does not
    assert simulate_page(admin_client, "team-a", UNKNOWN_HOST).json()["status"] == 200
    assert simulate_page(admin_client, "team-b", UNKNOWN_HOST).json()["status"] == 502


def test_a_forbidden_sidecar_list_is_reported_and_never_fails_the_check(fake_cluster, stored_cluster, viewer):
    set_outbound_mode(fake_cluster, "REGISTRY_ONLY")
    fake_cluster.fail("list", "Sidecar", Forbidden("sidecars is forbidden", verb="list", resource="sidecars"))

    cluster = checked(stored_cluster)

    # NB: the root namespace's Sidecar is part of the mesh-wide mode, so that read is refused too
    assert (cluster.reachable, cluster.check_error_code, cluster.outbound_error_code) == (True, "", "CLUSTER-E003")
    record = ClusterSidecars.of(cluster)
    assert (record.state, record.error_code, record.items) == ("unknown", "CLUSTER-E003", [])
    # and the API, the Clusters page and the cluster's page say so where the mode is shown
    check = send(api_as(viewer), "get", "/api/v1/clusters/prod/").json()["check"]
    assert check["sidecars"]["state"] == "unknown"
    assert check["sidecars"]["error"]["code"] == "CLUSTER-E003"
    assert check["sidecars"]["count"] is None
    for page in ("/clusters/", "/clusters/prod/"):
        html = pages_as(viewer).get(page).content.decode()
        assert 'data-testid="sidecars-unknown"' in html
        assert "Sidecars unknown · CLUSTER-E003" in html


def test_the_clusters_page_and_api_count_sidecars_and_warn_of_allow_any(strict_mesh, stored_cluster, viewer):
    put_sidecar(
        strict_mesh,
        "web",
        "team-b",
        {"workloadSelector": {"labels": {"app": "web"}}, "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}},
    )
    checked(stored_cluster)

    listed = send(api_as(viewer), "get", "/api/v1/clusters/").json()
    sidecars = listed[0]["check"]["sidecars"]
    assert (sidecars["state"], sidecars["count"], sidecars["unmodelled"]) == ("read", 2, [])
    assert [(o["namespace"], o["workloads"]) for o in sidecars["overrides"]] == [("team-a", ""), ("team-b", "app=web")]
    client = pages_as(viewer)
    page = client.get("/clusters/").content.decode()
    warning = page.split('data-testid="sidecar-allow-any"', 1)[1].split("</div>", 1)[0]
    assert "namespace team-a" in warning and "app=web in team-b" in warning
    assert "2 Sidecars" in page and "2 set ALLOW_ANY" in page
    detail = client.get("/clusters/prod/").content.decode()
    assert 'data-testid="sidecar-overrides"' in detail


def test_a_sidecar_the_simulator_cannot_model_refuses_the_simulation_on_the_cluster_field(
    fake_cluster, stored_cluster, admin_client, seed_gateway_record, viewer
):
    set_outbound_mode(fake_cluster, "REGISTRY_ONLY")
    port = {"number": 8080, "protocol": "HTTP", "name": "http"}
    put_sidecar(fake_cluster, "ported", "team-c", {"egress": [{"port": port, "hosts": ["./*"]}]})
    checked(stored_cluster)

    response = simulate_page(admin_client, "team-a", UNKNOWN_HOST)
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["path"]) == ("CLUSTER_SIDECARS_UNMODELLED", "cluster")
    assert "team-c/ported" in response.json()["message"]
    refused = simulate_api(api_as(viewer), "team-a", UNKNOWN_HOST)
    assert [(e["code"], e["path"]) for e in errors_of(refused)] == [("CLUSTER_SIDECARS_UNMODELLED", "cluster")]
    # and the editor offers the cluster disabled, saying why
    editor = admin_client.get("/gateways/egressgateway/new-policy/").content.decode()
    assert 'value="prod" data-mode="REGISTRY_ONLY" disabled>prod · REGISTRY_ONLY · a Sidecar the simulator' in editor


def test_the_review_reachability_change_is_simulated_with_the_clusters_sidecars(open_review: Review) -> None:
    # given a cluster whose namespace mytest (every source of the policy) imports only its own services
    sidecar = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": "mytest"},
        "spec": {"egress": [{"hosts": ["./*"]}]},
    }
    record = ClusterSidecars("read", [sidecar], fallback_mode="REGISTRY_ONLY")
    east = Cluster.objects.create(
        name="east", in_cluster=True, outbound_mode="REGISTRY_ONLY", sidecars=record.as_json()
    )
    report = review_report.build_report(review_report.report_queryset().get(pk=open_review.pk), cluster=east)
    without = review_report.build_report(review_report.report_queryset().get(pk=open_review.pk))
    # then the policy's hosts stay unknown to those proxies before and after: nothing changes for them
    assert report.mesh_sidecars == {"state": "read", "count": 1}
    assert without.reachability.counts()["allowed"] > 0
    assert report.reachability.counts() == {"allowed": 0, "blocked": 0, "changed": 0}
    assert report.as_dict(str)["meshMode"]["sidecars"] == {"state": "read", "count": 1}


def test_the_live_check_is_simulated_with_the_clusters_sidecars(open_review: Review, planning_fake) -> None:
    # given a cluster holding nothing of the policy, whose namespace mytest imports only its own services
    sidecar = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": "mytest"},
        "spec": {"egress": [{"hosts": ["./*"]}]},
    }
    stored = ClusterSidecars("read", [sidecar], fallback_mode="REGISTRY_ONLY").as_json()
    east = Cluster.objects.create(name="east", kubeconfig_path="/x", outbound_mode="REGISTRY_ONLY")
    assert review_plan.review_plan(open_review, east, target="istio")["liveReachability"]["counts"]["allowed"] > 0
    Cluster.objects.filter(pk=east.pk).update(sidecars=stored)
    # then against live, the revision newly allows nothing for workloads that cannot see its ServiceEntries
    plan = review_plan.review_plan(open_review, Cluster.objects.get(pk=east.pk), target="istio", refresh=True)
    assert plan["liveReachability"]["counts"] == {"allowed": 0, "blocked": 0, "changed": 0}
