"""The connection check against the real kube-apiserver: the mesh's outbound mode as the istio ConfigMap
and a root-namespace Sidecar set it, every namespace's Sidecars kept for simulations, refusals with their
codes, and a dead cluster within the check's timeout.

The istio ConfigMap and the root Sidecar live in istio-system, shared by every test of the session's
control plane, so each test here removes them again.
"""

from __future__ import annotations

import socket
import time
import uuid

import pytest

from policies.cluster.delete import delete_policy
from policies.cluster_status import policy_statuses
from policies.clusters import CHECK_RETRY, ClusterSidecars, check_cluster, cluster_mesh
from policies.core.simulator import Request
from policies.models import AuditEntry, Cluster
from policies.simulation import simulate_request
from tests.fixtures.cluster import connect
from tests.fixtures.clusters import apply_recorded, kubeconfig_text, stored_policy
from tests.fixtures.console import scenario_document

pytestmark = [pytest.mark.integration, pytest.mark.django_db]
CONFIGMAPS = "/api/v1/namespaces/istio-system/configmaps"
SIDECARS = "/apis/networking.istio.io/v1/namespaces/istio-system/sidecars"


@pytest.fixture
def istio_system(apply_plane):
    """istio-system exists, and holds no istio ConfigMap or Sidecar after the test."""
    status, _ = apply_plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": "istio-system"}})
    assert status in (201, 409)
    yield apply_plane
    apply_plane.request("DELETE", f"{CONFIGMAPS}/istio")
    apply_plane.request("DELETE", f"{SIDECARS}/default")


def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def put_mesh_config(plane, mode: str) -> None:
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "istio", "namespace": "istio-system"},
        "data": {"mesh": f"accessLogFile: /dev/stdout\noutboundTrafficPolicy:\n  mode: {mode}\n"},
    }
    status, body = plane.request("PUT", f"{CONFIGMAPS}/istio", manifest)
    if status == 404:
        status, body = plane.request("POST", CONFIGMAPS, manifest)
    assert status in (200, 201), body


def stored(plane, context: str = "admin", name: str = "plane") -> Cluster:
    return Cluster.objects.create(name=name, kubeconfig_path=str(plane.kubeconfig_path), context=context)


def test_check_reads_registry_only_then_allow_any_from_the_istio_configmap(istio_system):
    cluster = stored(istio_system)
    put_mesh_config(istio_system, "REGISTRY_ONLY")
    check_cluster(cluster)
    assert (cluster.reachable, cluster.check_error_code) == (True, "")
    assert cluster.targets == ["asm", "istio"]
    assert "v1" in cluster.versions["networking.istio.io"]
    assert (cluster.outbound_mode, cluster.outbound_mode_source, cluster.outbound_mode_origin) == (
        "REGISTRY_ONLY",
        "mesh-config",
        "istio-system/istio",
    )
    put_mesh_config(istio_system, "ALLOW_ANY")
    check_cluster(cluster)
    assert Cluster.objects.get(pk=cluster.pk).outbound_mode == "ALLOW_ANY"


def test_a_root_sidecar_overrides_the_mesh_config_and_without_a_configmap_the_mode_is_unknown(istio_system):
    cluster = stored(istio_system)
    check_cluster(cluster)
    assert (cluster.outbound_mode, cluster.outbound_mode_source) == ("", "none")
    put_mesh_config(istio_system, "ALLOW_ANY")
    sidecar = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": "istio-system"},
        "spec": {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}},
    }
    status, body = istio_system.request("POST", SIDECARS, sidecar)
    assert status == 201, body
    check_cluster(cluster)
    assert (cluster.outbound_mode, cluster.outbound_mode_source, cluster.outbound_mode_origin) == (
        "REGISTRY_ONLY",
        "sidecar",
        "istio-system/default",
    )


def test_a_user_without_rbac_is_reachable_but_the_mode_read_is_forbidden(istio_system):
    cluster = stored(istio_system, context="alice")
    put_mesh_config(istio_system, "REGISTRY_ONLY")
    check_cluster(cluster)
    assert cluster.reachable is True
    assert (cluster.outbound_mode, cluster.outbound_error_code) == ("", "CLUSTER-E003")
    assert istio_system.unprivileged_token not in cluster.outbound_error_message


def test_a_wrong_token_is_unauthorized(apply_plane, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig_text(server=apply_plane.server_url))
    cluster = Cluster.objects.create(name="wrong", kubeconfig_path=str(path), context="prod")
    check_cluster(cluster)
    assert (cluster.reachable, cluster.check_error_code) == (False, "CLUSTER-E002")


def test_a_closed_port_reports_unreachable_within_the_checks_timeout(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig_text(server=f"https://127.0.0.1:{closed_port()}"))
    cluster = Cluster.objects.create(name="closed", kubeconfig_path=str(path), context="prod")
    started = time.monotonic()
    check_cluster(cluster)
    elapsed = time.monotonic() - started
    assert (cluster.reachable, cluster.check_error_code, cluster.targets) == (False, "CLUSTER-E001", [])
    assert elapsed < CHECK_RETRY.attempts * (CHECK_RETRY.connect_timeout + CHECK_RETRY.max_delay)
    assert AuditEntry.objects.get(action="cluster.check", cluster="closed").result["reachable"] is False


def test_check_reports_an_applied_policy_in_sync_then_drifted_with_the_editor(istio_system, admin_user):
    # given a policy of a gateway of this test's own, applied to the plane and recorded
    plane = istio_system
    assert plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": "istio-egress"}})[0] in (201, 409)
    cluster = stored(plane)
    admin = connect(plane)
    state = apply_recorded(admin, cluster, stored_policy(f"gw-{uuid.uuid4().hex[:8]}", admin_user), target="istio")
    try:
        # when the cluster is checked, then the policy is in sync
        check_cluster(cluster)
        [status] = policy_statuses(cluster)
        assert (status.applied.revision.number, status.applied.target, status.drift) == (1, "istio", "in-sync")
        # when someone edits one of its ServiceEntries by hand, then the next check names it and its editor
        entry = next(m for m in state.objects if m["kind"] == "ServiceEntry")
        meta = entry["metadata"]
        path = f"/apis/networking.istio.io/v1/namespaces/{meta['namespace']}/serviceentries/{meta['name']}"
        edit = {"spec": {"hosts": ["evil.example.com"]}}
        status_code, body = plane.request(
            "PATCH", f"{path}?fieldManager=kubectl-edit", edit, content_type="application/merge-patch+json"
        )
        assert status_code == 200, body
        check_cluster(cluster)
        [status] = policy_statuses(cluster)
        assert status.drift == "drifted"
        assert [(o["kind"], o["name"], o["managers"]) for o in status.drifted_objects] == [
            ("ServiceEntry", meta["name"], ["kubectl-edit"])
        ]
    finally:
        delete_policy(admin, scope=state.scope, target="istio")


def test_every_namespaces_sidecar_is_kept_and_simulated_per_workload(istio_system, seed_gateway_record):
    # given a REGISTRY_ONLY mesh and a namespace of this test whose own Sidecar sets ALLOW_ANY
    plane = istio_system
    namespace = f"team-{uuid.uuid4().hex[:8]}"
    assert plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": namespace}})[0] == 201
    put_mesh_config(plane, "REGISTRY_ONLY")
    sidecars = f"/apis/networking.istio.io/v1/namespaces/{namespace}/sidecars"
    sidecar = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": namespace},
        "spec": {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}, "egress": [{"hosts": ["*/*"]}]},
    }
    status, body = plane.request("POST", sidecars, sidecar)
    assert status == 201, body
    try:
        # when the cluster is checked
        cluster = stored(plane)
        check_cluster(cluster)
        # then the Sidecar is kept as the server returned it, trimmed, and named as an ALLOW_ANY override
        record = ClusterSidecars.of(Cluster.objects.get(pk=cluster.pk))
        [kept] = [item for item in record.items if item["metadata"]["namespace"] == namespace]
        assert set(kept["metadata"]) == {"name", "namespace", "creationTimestamp"}
        assert kept["spec"] == sidecar["spec"]
        assert [o.namespace for o in record.allow_any] == [namespace]
        # and a simulation with the cluster lets that namespace's workloads out, not another's
        mesh = cluster_mesh(cluster.name)
        gateway = seed_gateway_record.describe()
        outcomes = {
            source: simulate_request(
                scenario_document("2"),
                gateway,
                Request(source, {"app": "web"}, "http://unlisted.example/"),
                mesh.mode,
                mesh.sidecars,
            )["status"]
            for source in (namespace, "default")
        }
        assert outcomes == {namespace: 200, "default": 502}
    finally:
        plane.request("DELETE", f"{sidecars}/default")
        plane.request("DELETE", f"/api/v1/namespaces/{namespace}")


def test_a_user_who_may_not_list_sidecars_gets_them_reported_unknown(istio_system):
    cluster = stored(istio_system, context="alice")
    check_cluster(cluster)
    record = ClusterSidecars.of(Cluster.objects.get(pk=cluster.pk))
    assert (cluster.reachable, record.state, record.error_code) == (True, "unknown", "CLUSTER-E003")
    assert istio_system.unprivileged_token not in record.error_message
