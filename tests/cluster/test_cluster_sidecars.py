"""Every Sidecar of a cluster, read for the simulator through the fake cluster: trimmed, bounded, explained."""

from __future__ import annotations

import pytest

from policies.cluster import sidecars as sidecars_module
from policies.cluster.discovery import NETWORKING, discover_capabilities
from policies.cluster.errors import Forbidden
from policies.cluster.fake import FakeClusterApi
from policies.cluster.interface import ResourceType
from policies.cluster.mesh import CONFIGMAPS, read_outbound_mode
from policies.cluster.sidecars import TooManySidecars, mode_overrides, read_sidecars, unmodelled

SIDECARS = ResourceType(NETWORKING, "v1", "Sidecar", "sidecars")


def sidecar(name: str, namespace: str, spec: dict, **meta: object) -> dict:
    metadata = {"name": name, "namespace": namespace, **meta}
    return {"apiVersion": f"{NETWORKING}/v1", "kind": "Sidecar", "metadata": metadata, "spec": spec}


@pytest.fixture
def cluster() -> FakeClusterApi:
    return FakeClusterApi(identity=f"fake://{id(object())}")


def read(cluster: FakeClusterApi) -> list[dict]:
    return read_sidecars(cluster, discover_capabilities(cluster))


def test_every_namespace_is_listed_and_only_what_the_simulator_reads_is_kept(cluster):
    labels = {"team": "a"}
    cluster.apply(
        resource=SIDECARS, manifest=sidecar("default", "team-a", {"egress": [{"hosts": ["./*"]}]}, labels=labels)
    )
    cluster.apply(resource=SIDECARS, manifest=sidecar("default", "istio-system", {}))

    found = read(cluster)

    assert [(s["metadata"]["namespace"], s["metadata"]["name"]) for s in found] == [
        ("istio-system", "default"),
        ("team-a", "default"),
    ]
    assert found[1] == {
        "apiVersion": "networking.istio.io/v1",
        "kind": "Sidecar",
        "metadata": {"name": "default", "namespace": "team-a"},
        "spec": {"egress": [{"hosts": ["./*"]}]},
    }


def test_more_than_the_bound_is_refused_whole_with_a_stable_code(cluster, monkeypatch):
    monkeypatch.setattr(sidecars_module, "MAX_SIDECARS", 2)
    for namespace in ("a", "b", "c"):
        cluster.apply(resource=SIDECARS, manifest=sidecar("default", namespace, {}))
    with pytest.raises(TooManySidecars) as refused:
        read(cluster)
    assert refused.value.code == "CLUSTER-E013"
    assert "holds 3 Sidecars" in refused.value.message


def test_a_forbidden_list_is_the_cluster_layers_error(cluster):
    cluster.fail("list", "Sidecar", Forbidden("cannot list sidecars", verb="list", resource="sidecars"))
    with pytest.raises(Forbidden):
        read(cluster)


def test_a_cluster_without_istio_networking_has_no_sidecars_to_list():
    bare = FakeClusterApi(groups={}, identity="fake://bare-sidecars")
    assert read(bare) == []
    assert ("list", "Sidecar") not in bare.requests


def test_the_overrides_are_namespace_and_workload_sidecars_not_the_root_default():
    found = [
        sidecar("default", "istio-system", {"outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"}}),
        sidecar("default", "team-a", {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}}),
        sidecar(
            "web",
            "team-b",
            {"workloadSelector": {"labels": {"v": "1", "app": "web"}}, "outboundTrafficPolicy": {"mode": "ALLOW_ANY"}},
        ),
        sidecar("narrow", "team-c", {"egress": [{"hosts": ["./*"]}]}),
    ]
    overrides = [o.as_dict() for o in mode_overrides(found, "istio-system")]
    assert overrides == [
        {"namespace": "team-a", "sidecar": "default", "workloads": "", "mode": "ALLOW_ANY"},
        {"namespace": "team-b", "sidecar": "web", "workloads": "app=web,v=1", "mode": "ALLOW_ANY"},
    ]


def test_a_sidecar_the_simulator_cannot_model_is_named_with_the_simulators_code():
    port = {"number": 8080, "protocol": "HTTP", "name": "http"}
    found = [
        sidecar("default", "team-a", {"egress": [{"hosts": ["./*"]}]}),
        sidecar("ported", "team-b", {"egress": [{"port": port, "hosts": ["./*"]}]}),
    ]
    (refused,) = unmodelled(found)
    assert (refused.sidecar, refused.code) == ("team-b/ported", "EGRESS-SIM13")
    assert "spec.egress[0]" in refused.message


def test_the_mesh_config_mode_is_kept_beside_a_root_sidecars_override(cluster):
    mesh = {"mesh": "rootNamespace: mesh-root\noutboundTrafficPolicy: {mode: REGISTRY_ONLY}\n"}
    configmap = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": "istio-system"}}
    cluster.apply(resource=CONFIGMAPS, manifest={**configmap, "data": mesh})
    cluster.apply(
        resource=SIDECARS, manifest=sidecar("default", "mesh-root", {"outboundTrafficPolicy": {"mode": "ALLOW_ANY"}})
    )

    outbound = read_outbound_mode(cluster, discover_capabilities(cluster))

    assert (outbound.mode, outbound.source) == ("ALLOW_ANY", "sidecar")
    assert (outbound.mesh_config_mode, outbound.root_namespace) == ("REGISTRY_ONLY", "mesh-root")
