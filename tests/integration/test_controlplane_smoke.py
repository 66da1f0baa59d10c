"""Smoke tests for the real kube-apiserver + etcd control plane in testenv/.

These start real processes (binaries built once by testenv/build.sh into a cache outside the
repo), so they are marked ``integration``. Namespaces are never deleted: without
kube-controller-manager they would stay Terminating forever; each test uses a fresh name.
"""

from __future__ import annotations

import json
import uuid

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from testenv.controlplane import ControlPlane

pytestmark = pytest.mark.integration

VS_GROUP, VS_VERSION, VS_PLURAL = "networking.istio.io", "v1", "virtualservices"


@pytest.fixture(scope="module")
def control_plane():
    cp = ControlPlane()  # Istio's CRDs (testenv/istio_crds.py) by default
    cp.start()
    try:
        yield cp
    finally:
        cp.stop()


@pytest.fixture(scope="module")
def admin_api(control_plane):
    return config.new_client_from_config(config_file=str(control_plane.kubeconfig_path), context="admin")


@pytest.fixture(scope="module")
def alice_api(control_plane):
    return config.new_client_from_config(config_file=str(control_plane.kubeconfig_path), context="alice")


def _new_namespace(api_client) -> str:
    name = f"smoke-{uuid.uuid4().hex[:10]}"
    client.CoreV1Api(api_client).create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    return name


def _virtual_service(name: str, hosts) -> dict:
    return {
        "apiVersion": f"{VS_GROUP}/{VS_VERSION}",
        "kind": "VirtualService",
        "metadata": {"name": name},
        "spec": {
            "hosts": hosts,
            "http": [{"route": [{"destination": {"host": "egress.example.internal"}}]}],
        },
    }


def test_server_version_is_pinned_release(admin_api):
    version = client.VersionApi(admin_api).get_code()
    assert version.git_version.startswith("v1.34.")
    assert version.major == "1" and version.minor == "34"


def test_admin_lists_and_creates_namespaces(admin_api):
    core = client.CoreV1Api(admin_api)
    names = {ns.metadata.name for ns in core.list_namespace().items}
    assert {"default", "kube-system"} <= names
    created = _new_namespace(admin_api)
    assert core.read_namespace(created).status.phase == "Active"


def test_alice_is_authenticated_but_not_authorized(alice_api):
    core = client.CoreV1Api(alice_api)
    with pytest.raises(ApiException) as exc:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=f"alice-{uuid.uuid4().hex[:8]}")))
    assert exc.value.status == 403
    assert json.loads(exc.value.body)["message"].startswith('namespaces is forbidden: User "alice"')
    with pytest.raises(ApiException) as exc:
        core.list_namespace()
    assert exc.value.status == 403


def test_istio_crds_established(control_plane, admin_api):
    assert len(control_plane.crd_names) == 15
    ext = client.ApiextensionsV1Api(admin_api)
    for name in (
        "virtualservices.networking.istio.io",
        "serviceentries.networking.istio.io",
        "destinationrules.networking.istio.io",
        "gateways.networking.istio.io",
        "sidecars.networking.istio.io",
        "authorizationpolicies.security.istio.io",
    ):
        crd = ext.read_custom_resource_definition(name)
        conditions = {c.type: c.status for c in crd.status.conditions}
        assert conditions.get("Established") == "True", (name, conditions)
    resources = client.CustomObjectsApi(admin_api).get_api_resources(VS_GROUP, VS_VERSION)
    assert VS_PLURAL in {r.name for r in resources.resources}


def test_create_virtualservice_via_rest(control_plane, admin_api):
    ns = _new_namespace(admin_api)
    path = f"/apis/{VS_GROUP}/{VS_VERSION}/namespaces/{ns}/{VS_PLURAL}"
    status, body = control_plane.request("POST", path, _virtual_service("egress-vs", ["egress.example.internal"]))
    assert status == 201, body
    assert body["metadata"]["namespace"] == ns and body["metadata"]["uid"]

    got = client.CustomObjectsApi(admin_api).get_namespaced_custom_object(
        VS_GROUP, VS_VERSION, ns, VS_PLURAL, "egress-vs"
    )
    assert got["spec"]["hosts"] == ["egress.example.internal"]

    # alice can't read it (no RBAC bindings)
    status, _ = control_plane.request("GET", f"{path}/egress-vs", token=control_plane.unprivileged_token)
    assert status == 403


def test_schema_invalid_virtualservice_is_rejected_with_422(control_plane, admin_api):
    ns = _new_namespace(admin_api)
    path = f"/apis/{VS_GROUP}/{VS_VERSION}/namespaces/{ns}/{VS_PLURAL}"
    status, body = control_plane.request(
        "POST", path, _virtual_service("bad-vs", "not-a-list")
    )  # hosts must be an array
    assert status == 422, body
    assert body["reason"] == "Invalid"
    assert "spec.hosts" in body["message"]

    with pytest.raises(ApiException) as exc:
        client.CustomObjectsApi(admin_api).create_namespaced_custom_object(
            VS_GROUP, VS_VERSION, ns, VS_PLURAL, _virtual_service("bad-vs-2", "not-a-list")
        )
    assert exc.value.status == 422


def test_data_survives_apiserver_kill_and_restart(control_plane, admin_api):
    ns = _new_namespace(admin_api)
    control_plane.kill_apiserver()
    status_down = None
    try:
        control_plane.request("GET", "/readyz", timeout=2)
    except OSError as e:  # connection refused while it is down
        status_down = e
    assert status_down is not None
    control_plane.start_apiserver()
    assert client.CoreV1Api(admin_api).read_namespace(ns).metadata.name == ns

    control_plane.restart_apiserver()  # graceful
    status, body = control_plane.request("GET", f"/apis/{VS_GROUP}/{VS_VERSION}/namespaces/{ns}/{VS_PLURAL}")
    assert status == 200 and body["items"] == []
