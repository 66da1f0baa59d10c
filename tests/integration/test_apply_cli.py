"""``egress apply / diff / drift / delete`` end to end against the real kube-apiserver.

The policy namespace is fixed by the spec (``istio-egress``), so each test owns a gateway of
its own (``gw-<random>``, hence policy ``egress-by-gw-<random>``) and a gateway namespace of its
own; its objects never meet another test's, and the test deletes them through the CLI.
"""

from __future__ import annotations

import io
import json
import uuid

import pytest
from django.core.management import call_command

from policies.models import ApplyRecord, Cluster
from tests.fixtures.cluster import create_namespace, seed_data
from tests.integration.test_apply_lifecycle import edit_as

pytestmark = pytest.mark.integration


def egress(*argv):
    """Run ``manage.py egress ...``; returns (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("egress", *argv, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def rows(out):
    """The first three columns of each table row."""
    return [line.split()[:3] for line in out.splitlines()]


@pytest.fixture
def policy_file(apply_plane, tmp_path):
    """A valid scenario-2 policy for a gateway of this test's own, in istio-egress."""
    status, _ = apply_plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": "istio-egress"}})
    assert status in (201, 409)
    gateway = f"gw-{uuid.uuid4().hex[:8]}"
    data = seed_data("2")
    data["metadata"]["name"] = f"egress-by-{gateway}"
    data["spec"]["byEgressGateway"]["name"] = gateway
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data))
    return path, data


@pytest.fixture
def flags(apply_plane):
    gateway_namespace = create_namespace(apply_plane, "gn")
    return [
        "--kubeconfig",
        str(apply_plane.kubeconfig_path),
        "--context",
        "admin",
        "--target",
        "istio",
        "--gateway-namespace",
        gateway_namespace,
    ]


def test_diff_apply_reapply_drift_conflict_delete(apply_plane, policy_file, flags):
    path, data = policy_file
    name = data["metadata"]["name"]

    code, out, _ = egress("diff", str(path), *flags)
    assert code == 0 and out.splitlines()[-1].endswith("6 to create, 0 to change, 0 to prune, 0 unchanged")

    code, out, _ = egress("apply", str(path), *flags)
    assert code == 0, out
    assert out.splitlines()[0].split() == ["KIND", "NAMESPACE/NAME", "OUTCOME", "DETAILS"]
    assert ["ServiceEntry", f"istio-egress/{name}-httpbin-service-http", "created"] in rows(out)
    assert out.splitlines()[-1] == f"apply of istio-egress/{name} (target istio): 6 created"

    code, out, _ = egress("apply", str(path), *flags)
    assert (code, out.splitlines()[-1]) == (0, f"apply of istio-egress/{name} (target istio): 6 unchanged")

    code, out, _ = egress("drift", str(path), *flags)
    assert code == 0 and "0 of 6 object(s) differ" in out

    service_entry = {
        "apiVersion": "networking.istio.io/v1",
        "kind": "ServiceEntry",
        "metadata": {"name": f"{name}-httpbin-service-http", "namespace": "istio-egress"},
    }
    edit_as(apply_plane, service_entry, {"spec": {"location": "MESH_INTERNAL"}})
    code, out, _ = egress("drift", str(path), *flags)
    assert code == 1
    assert "modified" in out and "also managed by kubectl-edit" in out
    assert "~ spec.location: 'MESH_INTERNAL' -> 'MESH_EXTERNAL'" in out

    code, out, _ = egress("apply", str(path), *flags)
    assert code == 1 and ["ServiceEntry", f"istio-egress/{name}-httpbin-service-http", "failed"] in rows(out)
    assert "CLUSTER-E006 " in out and "Field manager(s) kubectl-edit own .spec.location" in out
    code, out, _ = egress("apply", str(path), *flags, "--force-conflicts")
    assert code == 0 and out.splitlines()[-1].endswith("1 configured, 5 unchanged")

    code, out, _ = egress("delete", str(path), *flags)
    assert (code, out.splitlines()[-1]) == (0, f"delete of istio-egress/{name}: 6 pruned")


def test_unprivileged_user_gets_forbidden_with_code(apply_plane, policy_file, flags):
    path, _ = policy_file
    alice = [f if f != "admin" else "alice" for f in flags]

    code, out, err = egress("apply", str(path), *alice)

    assert code == 1
    assert "egress apply: error CLUSTER-E003: Forbidden: cannot list gateways.networking.istio.io" in err
    assert apply_plane.admin_token not in out + err and apply_plane.unprivileged_token not in out + err


def test_invalid_file_is_refused_before_the_cluster(policy_file, flags, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(policy_file[0].read_text().replace('"istio-egress"', '"elsewhere"'))

    code, _, err = egress("apply", str(bad), *flags)

    assert code == 1
    assert "EGRESS-V2 error metadata.namespace" in err
    assert err.splitlines()[-1] == f"egress apply: {bad} is invalid; nothing was sent to the cluster."


def test_missing_kube_context_is_a_clear_error(policy_file, flags):
    wrong = [f if f != "admin" else "nope" for f in flags]
    code, _, err = egress("apply", str(policy_file[0]), *wrong)
    assert code == 1 and "error CLUSTER-E009: Cannot load kubeconfig context 'nope'" in err


@pytest.mark.django_db
def test_stored_cluster_records_each_apply(apply_plane, policy_file, flags):
    path, data = policy_file
    cluster = Cluster.objects.create(name="testenv", kubeconfig_path=str(apply_plane.kubeconfig_path), context="admin")
    stored = ["--cluster", "testenv", *flags[4:]]

    assert egress("apply", str(path), *stored)[0] == 0
    assert egress("delete", str(path), *stored)[0] == 0

    records = list(ApplyRecord.objects.filter(cluster=cluster).order_by("pk"))
    assert [(r.action, r.succeeded, r.target, r.policy_name) for r in records] == [
        ("apply", True, "istio", data["metadata"]["name"]),
        ("delete", True, "istio", data["metadata"]["name"]),
    ]
    assert [row["outcome"] for row in records[0].outcomes] == ["created"] * 6
    assert str(cluster) == "testenv"
