"""Reading the mesh's outbound traffic mode (istio ConfigMap, root-namespace Sidecar) through the fake cluster."""

from __future__ import annotations

import pytest

from policies.cluster.discovery import NETWORKING, discover_capabilities
from policies.cluster.errors import Forbidden
from policies.cluster.fake import FakeClusterApi
from policies.cluster.interface import ResourceType
from policies.cluster.mesh import CONFIGMAPS, MeshConfigInvalid, MeshOutbound, read_outbound_mode

SIDECARS = ResourceType(NETWORKING, "v1", "Sidecar", "sidecars")


def configmap(mesh: str | None, *, name: str = "istio", namespace: str = "istio-system") -> dict:
    data = {} if mesh is None else {"mesh": mesh}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace}, "data": data}


def sidecar(name: str, spec: dict, *, namespace: str = "istio-system", created: str = "") -> dict:
    metadata = {"name": name, "namespace": namespace, "creationTimestamp": created}
    return {"apiVersion": f"{NETWORKING}/v1", "kind": "Sidecar", "metadata": metadata, "spec": spec}


def read(cluster: FakeClusterApi) -> MeshOutbound:
    return read_outbound_mode(cluster, discover_capabilities(cluster))


@pytest.fixture
def cluster() -> FakeClusterApi:
    return FakeClusterApi(identity=f"fake://{id(object())}")


def put(cluster: FakeClusterApi, *objects: dict) -> None:
    for obj in objects:
        resource = CONFIGMAPS if obj["kind"] == "ConfigMap" else SIDECARS
        cluster.apply(resource=resource, manifest=obj)


def test_no_configmap_means_no_istio_mesh_config_and_no_mode(cluster):
    assert read(cluster) == MeshOutbound(None, "none")


@pytest.mark.parametrize(
    "mesh",
    [None, "", "accessLogFile: /dev/stdout\n", "outboundTrafficPolicy: {}\n", "outboundTrafficPolicy:\n  mode:\n"],
    ids=["no-mesh-key", "blank", "other-fields", "empty-policy", "null-mode"],
)
def test_configmap_without_a_mode_gets_istios_default_allow_any(cluster, mesh):
    put(cluster, configmap(mesh))
    assert read(cluster) == MeshOutbound("ALLOW_ANY", "istio-default", "istio-system/istio")


@pytest.mark.parametrize("mode", ["REGISTRY_ONLY", "ALLOW_ANY"])
def test_mode_set_in_the_mesh_config_is_read(cluster, mode):
    put(
        cluster,
        configmap(f"defaultConfig:\n  discoveryAddress: istiod:15012\noutboundTrafficPolicy:\n  mode: {mode}\n"),
    )
    outbound = read(cluster)
    assert outbound == MeshOutbound(mode, "mesh-config", "istio-system/istio")
    assert outbound.restricts_egress is (mode == "REGISTRY_ONLY")


def test_a_revisioned_configmap_is_read_when_there_is_no_default_one(cluster):
    put(
        cluster,
        configmap("outboundTrafficPolicy: {mode: REGISTRY_ONLY}", name="istio-canary"),
        configmap("outboundTrafficPolicy: {mode: ALLOW_ANY}", name="istio-stable"),
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "istio-ca-root-cert", "namespace": "istio-system"},
        },
    )
    assert read(cluster) == MeshOutbound("REGISTRY_ONLY", "mesh-config", "istio-system/istio-canary")


def test_a_root_namespace_sidecar_without_selector_overrides_the_mesh_config(cluster):
    put(
        cluster,
        configmap("outboundTrafficPolicy:\n  mode: ALLOW_ANY\n"),
        sidecar(
            "scoped", {"workloadSelector": {"labels": {"app": "x"}}, "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}
        ),
        sidecar("default", {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}),
    )
    assert read(cluster) == MeshOutbound("REGISTRY_ONLY", "sidecar", "istio-system/default")


def test_the_oldest_selectorless_sidecar_wins_and_one_without_a_mode_keeps_the_mesh_value(cluster):
    put(
        cluster,
        configmap("outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"),
        sidecar("a-newer", {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}, created="2026-02-01T00:00:00Z"),
        sidecar("z-older", {"egress": [{"hosts": ["./*"]}]}, created="2026-01-01T00:00:00Z"),
    )
    assert read(cluster) == MeshOutbound("REGISTRY_ONLY", "mesh-config", "istio-system/istio")


def test_the_root_namespace_comes_from_the_mesh_config(cluster):
    put(
        cluster,
        configmap("rootNamespace: mesh-root\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}\n"),
        sidecar("default", {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}, namespace="istio-system"),
        sidecar("default", {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}, namespace="mesh-root"),
    )
    assert read(cluster) == MeshOutbound("ALLOW_ANY", "sidecar", "mesh-root/default")


def test_without_istio_networking_served_no_sidecar_is_read(cluster):
    bare = FakeClusterApi(groups={}, identity="fake://bare")
    put(bare, configmap("outboundTrafficPolicy: {mode: REGISTRY_ONLY}"))
    assert read(bare) == MeshOutbound("REGISTRY_ONLY", "mesh-config", "istio-system/istio")
    assert ("list", "Sidecar") not in bare.requests


@pytest.mark.parametrize(
    ("mesh", "message"),
    [
        ("outboundTrafficPolicy: [unclosed\n", "is not a YAML mapping (line 2): YAML syntax error"),
        ("- a\n- b\n", "is not a YAML mapping (line 1): Expected a mapping"),
        ("mode: a\nmode: b\n", "Duplicate key 'mode'"),
        ("outboundTrafficPolicy: REGISTRY_ONLY\n", "outboundTrafficPolicy in istio-system/istio is not a mapping"),
        ("outboundTrafficPolicy: {mode: DENY}\n", "is 'DENY'; Istio knows REGISTRY_ONLY and ALLOW_ANY"),
    ],
    ids=["not-yaml", "not-a-mapping", "duplicate-key", "policy-not-a-mapping", "unknown-mode"],
)
def test_malformed_mesh_config_is_a_clear_error_with_a_stable_code(cluster, mesh, message):
    put(cluster, configmap(mesh))
    with pytest.raises(MeshConfigInvalid) as refused:
        read(cluster)
    assert refused.value.code == "CLUSTER-E010"
    assert message in refused.value.message
    assert "istio-system/istio" in refused.value.message


def test_a_refused_read_is_the_cluster_layers_error(cluster):
    cluster.fail("get", "ConfigMap", Forbidden("Forbidden: cannot get configmaps", verb="get", resource="configmaps"))
    with pytest.raises(Forbidden):
        read(cluster)
