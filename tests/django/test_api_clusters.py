"""``/api/v1/clusters/``: register (admin), read (everyone), check (operators and admins) through the fake cluster."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from policies import clusters
from policies.core.yamlio import dump_yaml
from policies.models import AuditEntry, Cluster
from tests.fixtures.api import codes_of, errors_of, seed_cr, send
from tests.fixtures.clusters import apply_recorded, kubeconfig_text, no_secret_in, set_outbound_mode, stored_policy
from tests.fixtures.reviews import client_in_role

pytestmark = pytest.mark.django_db
URL = "/api/v1/clusters/"


@pytest.fixture
def viewer() -> APIClient:
    return client_in_role("viewer")


@pytest.fixture
def admin() -> APIClient:
    return client_in_role("admin")


@pytest.fixture
def operator() -> APIClient:
    return client_in_role("operator")


def test_admin_registers_a_cluster_by_kubeconfig_and_context(admin, kubeconfig):
    response = send(admin, "post", URL, {"name": "prod", "kubeconfigPath": kubeconfig, "context": "staging"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["kubeconfigPath"], body["context"], body["inCluster"]) == (
        "prod",
        kubeconfig,
        "staging",
        False,
    )
    assert body["check"]["checkedAt"] is None
    assert body["check"]["reachable"] is None
    assert AuditEntry.objects.filter(action="cluster.register", cluster="prod").count() == 1
    assert no_secret_in(response.content)


@pytest.mark.parametrize(
    ("body", "code", "path"),
    [
        ({"kubeconfigPath": "/nonexistent/kubeconfig"}, "CLUSTER-E011", "kubeconfigPath"),
        ({"kubeconfigPath": "relative/kubeconfig"}, "CLUSTER-E011", "kubeconfigPath"),
        ({"context": "nope"}, "CLUSTER-E012", "context"),
        ({"kubeconfigPath": ""}, "EGRESS-E000", "kubeconfigPath"),
        ({"inCluster": True}, "EGRESS-E000", "kubeconfigPath"),
    ],
    ids=["missing-file", "relative-path", "unknown-context", "no-location", "in-cluster-with-path"],
)
def test_an_unusable_location_is_refused_with_its_code_and_field(admin, kubeconfig, body, code, path):
    response = send(admin, "post", URL, {"name": "prod", "kubeconfigPath": kubeconfig, "context": "prod", **body})
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [(code, path)]
    assert not Cluster.objects.exists()


def test_the_unknown_context_message_lists_the_contexts_but_no_credential(admin, kubeconfig):
    response = send(admin, "post", URL, {"name": "prod", "kubeconfigPath": kubeconfig, "context": "nope"})
    message = errors_of(response)[0]["message"]
    assert "has no context 'nope'; it has: prod, staging." in message
    assert no_secret_in(response.content)


def test_in_cluster_registration_needs_no_kubeconfig(admin):
    response = send(admin, "post", URL, {"name": "here", "inCluster": True})
    assert response.status_code == 201
    assert response.json()["inCluster"] is True


def test_a_taken_name_is_409_and_a_rename_is_refused(admin, stored_cluster, kubeconfig):
    taken = send(admin, "post", URL, {"name": "prod", "kubeconfigPath": kubeconfig})
    assert taken.status_code == 409
    renamed = send(admin, "patch", f"{URL}prod/", {"name": "other"})
    assert codes_of(renamed) == ["immutable"]


def test_patch_revalidates_the_stored_location(admin, stored_cluster):
    response = send(admin, "patch", f"{URL}prod/", {"context": "missing"})
    assert codes_of(response) == ["CLUSTER-E012"]
    assert Cluster.objects.get(name="prod").context == "prod"
    changed = send(admin, "patch", f"{URL}prod/", {"context": "staging", "description": "blue"})
    assert changed.status_code == 200
    assert (changed.json()["context"], changed.json()["description"]) == ("staging", "blue")


def test_a_viewer_reads_clusters(viewer, stored_cluster):
    response = viewer.get(URL)
    assert response.status_code == 200
    assert [c["name"] for c in response.json()] == ["prod"]
    assert viewer.get(f"{URL}prod/").json()["policies"] == []


def test_unknown_cluster_is_404(admin):
    assert admin.get(f"{URL}nope/").status_code == 404


def test_check_reads_targets_versions_and_the_outbound_mode(operator, stored_cluster, fake_cluster):
    set_outbound_mode(fake_cluster, "REGISTRY_ONLY")
    response = send(operator, "post", f"{URL}prod/check/")
    assert response.status_code == 200, response.content
    check = response.json()["check"]
    assert check["reachable"] is True
    assert check["error"] is None
    assert check["targets"] == ["istio"]
    assert check["versions"] == {"networking.istio.io": ["v1", "v1beta1"], "security.istio.io": ["v1", "v1beta1"]}
    assert (check["outboundMode"], check["outboundModeSource"], check["outboundModeOrigin"]) == (
        "REGISTRY_ONLY",
        "mesh-config",
        "istio-system/istio",
    )
    assert check["checkedBy"] == "operator-user"
    assert clusters.outbound_mode_for(Cluster.objects.get(name="prod")) == "REGISTRY_ONLY"
    assert AuditEntry.objects.filter(action="cluster.check", cluster="prod").count() == 1


def test_check_reports_asm_when_our_crd_is_served(operator, stored_cluster, fake_cluster):
    fake_cluster.groups["istio.alibabacloud.com"] = ("v1beta1",)
    set_outbound_mode(fake_cluster, None)
    check = send(operator, "post", f"{URL}prod/check/").json()["check"]
    assert check["targets"] == ["asm", "istio"]
    assert (check["outboundMode"], check["outboundModeSource"]) == ("ALLOW_ANY", "istio-default")


def test_a_malformed_mesh_config_keeps_the_cluster_reachable_with_the_mode_error(
    operator, stored_cluster, fake_cluster
):
    fake_cluster.apply(
        resource=clusters_configmaps(),
        manifest={
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "istio", "namespace": "istio-system"},
            "data": {"mesh": "outboundTrafficPolicy: [\n"},
        },
    )
    check = send(operator, "post", f"{URL}prod/check/").json()["check"]
    assert check["reachable"] is True
    assert check["outboundMode"] is None
    assert check["outboundModeError"]["code"] == "CLUSTER-E010"


def clusters_configmaps() -> Any:
    from policies.cluster.mesh import CONFIGMAPS

    return CONFIGMAPS


def test_check_of_a_closed_port_is_unreachable_with_its_code_and_no_secret(operator, tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig_text(server="https://127.0.0.1:9"))
    Cluster.objects.create(name="dead", kubeconfig_path=str(path), context="prod")
    response = send(operator, "post", f"{URL}dead/check/")
    assert response.status_code == 200
    check = response.json()["check"]
    assert (check["reachable"], check["error"]["code"], check["targets"]) == (False, "CLUSTER-E001", [])
    assert check["outboundMode"] is None
    assert no_secret_in(response.content, AuditEntry.objects.get(action="cluster.check").result)


def test_check_of_a_deleted_kubeconfig_or_context_stores_that_code(operator, stored_cluster, tmp_path):
    Cluster.objects.filter(pk=stored_cluster.pk).update(context="gone")
    check = send(operator, "post", f"{URL}prod/check/").json()["check"]
    assert (check["reachable"], check["error"]["code"]) == (False, "CLUSTER-E012")
    Cluster.objects.filter(pk=stored_cluster.pk).update(kubeconfig_path=str(tmp_path / "gone"))
    check = send(operator, "post", f"{URL}prod/check/").json()["check"]
    assert (check["reachable"], check["error"]["code"]) == (False, "CLUSTER-E011")


def test_check_computes_each_applied_policys_drift(operator, viewer, stored_cluster, fake_cluster, api_policy):
    apply_recorded(fake_cluster, stored_cluster, api_policy)
    before = viewer.get(f"{URL}prod/").json()["policies"]
    assert [(p["policy"], p["revision"], p["drift"]) for p in before] == [("egress-by-egressgateway", 1, "unknown")]
    in_sync = send(operator, "post", f"{URL}prod/check/").json()["policies"]
    assert [(p["revision"], p["target"], p["drift"], p["driftedObjects"]) for p in in_sync] == [
        (1, "istio", "in-sync", [])
    ]
    first = fake_cluster.objects[next(k for k in fake_cluster.objects if k[1] == "ServiceEntry")]
    meta = first["metadata"]
    fake_cluster.edit(
        "ServiceEntry", meta["namespace"], meta["name"], ("spec", "hosts"), ["evil.example"], manager="kubectl-edit"
    )
    drifted = send(operator, "post", f"{URL}prod/check/").json()["policies"][0]
    assert drifted["drift"] == "drifted"
    assert [(o["kind"], o["name"], o["state"]) for o in drifted["driftedObjects"]] == [
        ("ServiceEntry", meta["name"], "modified")
    ]
    assert any(path.startswith("spec.hosts") for path in drifted["driftedObjects"][0]["changes"])


def test_a_cluster_with_apply_records_cannot_be_deleted(admin, stored_cluster, fake_cluster, api_policy):
    apply_recorded(fake_cluster, stored_cluster, api_policy)
    response = send(admin, "delete", f"{URL}prod/")
    assert response.status_code == 409
    assert codes_of(response) == ["CLUSTER_IN_USE"]


def test_an_unused_cluster_is_deleted_and_audited(admin, stored_cluster):
    assert send(admin, "delete", f"{URL}prod/").status_code == 204
    assert not Cluster.objects.exists()
    assert AuditEntry.objects.filter(action="cluster.delete", cluster="prod").count() == 1


def test_a_cluster_deleted_during_its_check_is_404(operator, stored_cluster, fake_cluster, monkeypatch):
    def connect_then_delete(cluster, retry=None):
        Cluster.objects.filter(pk=cluster.pk).delete()
        return fake_cluster

    monkeypatch.setattr("policies.clusters.connect_cluster", connect_then_delete)
    response = send(operator, "post", f"{URL}prod/check/")
    assert response.status_code == 404
    assert codes_of(response) == ["not_found"]
    assert not AuditEntry.objects.filter(action="cluster.check").exists()


@pytest.mark.parametrize(
    ("mode", "status"), [("REGISTRY_ONLY", 502), ("ALLOW_ANY", 200)], ids=["registry-only", "allow-any"]
)
def test_the_simulate_api_takes_a_clusters_last_checked_mode(viewer, mode, status):
    Cluster.objects.create(name="mesh", in_cluster=True, outbound_mode=mode)
    body = {
        "policies": [seed_cr("2")],
        "source": {"namespace": "default", "labels": {"app": "nginx"}},
        "url": "http://unlisted.example/",
        "cluster": "mesh",
        "meshMode": "REGISTRY_ONLY",
    }
    response = send(viewer, "post", "/api/v1/simulate/", body)
    assert response.status_code == 200, response.content
    assert response.json()["status"] == status
    # NB: the same body again after the cluster's mode changed: the mode is read per request
    flipped = "ALLOW_ANY" if mode == "REGISTRY_ONLY" else "REGISTRY_ONLY"
    Cluster.objects.filter(name="mesh").update(outbound_mode=flipped)
    assert send(viewer, "post", "/api/v1/simulate/", body).json()["status"] == {502: 200, 200: 502}[status]


@pytest.mark.parametrize("name", ["nope", "unchecked"])
def test_the_simulate_api_refuses_a_cluster_without_a_known_mode(viewer, name):
    Cluster.objects.create(name="unchecked", in_cluster=True)
    body = {"source": {"namespace": "default"}, "url": "http://unlisted.example/", "cluster": name}
    response = send(viewer, "post", "/api/v1/simulate/", body)
    assert response.status_code == 400
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("CLUSTER_MODE_UNKNOWN", "cluster")]


def test_each_of_several_applied_policies_gets_its_own_drift(
    operator, stored_cluster, fake_cluster, api_policy, editor
):
    # given the seed policy and a second one (another gateway) applied, and the second edited by hand
    apply_recorded(fake_cluster, stored_cluster, api_policy)
    state = apply_recorded(fake_cluster, stored_cluster, stored_policy("othergateway", editor))
    entry = next(m for m in state.objects if m["kind"] == "ServiceEntry")["metadata"]
    fake_cluster.edit("ServiceEntry", entry["namespace"], entry["name"], ("spec", "hosts"), ["x.example"], manager="m")
    # when the cluster is checked, then each policy has its own answer
    policies = send(operator, "post", f"{URL}prod/check/").json()["policies"]
    assert [(p["policy"], p["drift"]) for p in policies] == [
        ("egress-by-egressgateway", "in-sync"),
        ("egress-by-othergateway", "drifted"),
    ]


def test_a_kubeconfig_outside_the_allowed_directories_is_refused(admin, kubeconfig, settings, tmp_path):
    settings.EGRESS_KUBECONFIG_DIRS = [str(tmp_path / "kubeconfigs")]
    response = send(admin, "post", URL, {"name": "prod", "kubeconfigPath": kubeconfig})
    assert [(e["code"], e["path"]) for e in errors_of(response)] == [("CLUSTER-E011", "kubeconfigPath")]
    assert "is outside the kubeconfig directories the console allows" in errors_of(response)[0]["message"]


def exec_kubeconfig(tmp_path, marker) -> str:
    """A kubeconfig whose only context's user runs a program (which would leave ``marker`` behind)."""
    program = tmp_path / "credential-helper"
    program.write_text(f"#!/bin/sh\ntouch {marker}\necho '{{}}'\n")
    program.chmod(0o755)
    path = tmp_path / "exec-kubeconfig"
    path.write_text(
        dump_yaml(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9"}}],
                "users": [
                    {
                        "name": "u",
                        "user": {
                            "exec": {"apiVersion": "client.authentication.k8s.io/v1beta1", "command": str(program)}
                        },
                    }
                ],
                "contexts": [{"name": "prod", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "prod",
            }
        )
    )
    return str(path)


def test_a_kubeconfig_that_runs_a_program_for_credentials_is_refused_unless_allowed(admin, tmp_path, settings):
    # Given: a kubeconfig with an exec plugin
    marker = tmp_path / "ran"
    path = exec_kubeconfig(tmp_path, marker)

    # When: an admin registers it, then the operator allows programs and registers it again
    refused = send(admin, "post", URL, {"name": "eks", "kubeconfigPath": path, "context": "prod"})
    settings.EGRESS_KUBECONFIG_ALLOW_EXEC = True
    allowed = send(admin, "post", URL, {"name": "eks", "kubeconfigPath": path, "context": "prod"})

    # Then
    assert refused.status_code == 400 and [(e["code"], e["path"]) for e in errors_of(refused)] == [
        ("CLUSTER-E014", "context")
    ]
    assert "EGRESS_KUBECONFIG_ALLOW_EXEC" in errors_of(refused)[0]["message"]
    assert allowed.status_code == 201
    assert not marker.exists()  # NB: registering reads the file; it never runs the program


def test_a_stored_kubeconfig_edited_to_run_a_program_is_refused_before_the_program_runs(operator, tmp_path):
    # Given: a cluster whose kubeconfig now names an exec plugin
    marker = tmp_path / "ran"
    Cluster.objects.create(name="eks", kubeconfig_path=exec_kubeconfig(tmp_path, marker), context="prod")

    # When
    check = send(operator, "post", f"{URL}eks/check/").json()["check"]

    # Then: the check stores the refusal, and the program never ran
    assert (check["reachable"], check["error"]["code"]) == (False, "CLUSTER-E014")
    assert not marker.exists()
