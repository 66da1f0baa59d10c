"""A cluster that serves only the v1beta1 Istio APIs and not our CRD (Istio < 1.22, no ASM).

Given a second control plane whose Istio CRDs were rewritten to serve v1beta1 only, when a
policy is applied, then discovery picks the ``istio`` target and ``v1beta1`` objects, which
apply, read back and re-apply unchanged; asking for the ``asm`` target gives CrdMissing with
the command that installs our CRD.
"""

from __future__ import annotations

import uuid

import pytest
import yaml

from policies.cluster.apply import apply_objects
from policies.cluster.discovery import capabilities
from policies.cluster.errors import CrdMissing
from policies.cluster.targets import desired_state
from policies.core.gateway import TranslationSettings
from policies.core.yamlio import dump_yaml_all
from tests.fixtures.cluster import connect, merged_policy

pytestmark = pytest.mark.integration


def v1beta1_only(crd: dict) -> dict:
    """The CRD with its v1 version removed and v1beta1 made the storage version."""
    versions = crd["spec"]["versions"]
    if not any(v["name"] == "v1" for v in versions) or not any(v["name"] == "v1beta1" for v in versions):
        return crd
    crd["spec"]["versions"] = [{**v, "storage": v["name"] == "v1beta1"} for v in versions if v["name"] != "v1"]
    return crd


@pytest.fixture(scope="module")
def old_plane(tmp_path_factory):
    from testenv.controlplane import ControlPlane
    from testenv.istio_crds import istio_crd_file

    with open(istio_crd_file()) as source:
        crds = [
            v1beta1_only(d) for d in yaml.safe_load_all(source) if d and d.get("kind") == "CustomResourceDefinition"
        ]
    path = tmp_path_factory.mktemp("old-istio") / "crds.yaml"
    path.write_text(dump_yaml_all(crds))
    plane = ControlPlane([path], default_crds=False)
    plane.start()
    try:
        yield plane
    finally:
        plane.stop()


def fresh_namespaces(plane) -> tuple[str, str]:
    names = (f"pn-{uuid.uuid4().hex[:8]}", f"gn-{uuid.uuid4().hex[:8]}")
    for name in names:
        status, body = plane.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
        assert status == 201, body
    return names


def test_discovery_sees_v1beta1_only_and_no_asm(old_plane):
    caps = capabilities(connect(old_plane), refresh=True)
    assert (caps.istio_version, caps.has_asm, caps.pick_target(None)) == ("v1beta1", False, "istio")


def test_policy_applies_as_v1beta1_objects(old_plane):
    cluster = connect(old_plane)
    policy_ns, gateway_ns = fresh_namespaces(old_plane)
    state = desired_state(
        merged_policy("2", "4", namespace=policy_ns),
        capabilities(cluster),
        settings=TranslationSettings(gateway_namespace=gateway_ns),
    )
    assert {m["apiVersion"] for m in state.objects} == {"networking.istio.io/v1beta1"}

    first = apply_objects(cluster, desired=state.objects, scope=state.scope)
    second = apply_objects(cluster, desired=state.objects, scope=state.scope)

    assert first.ok, first.errors
    assert {o.outcome for o in first.outcomes} == {"created"}
    assert {o.outcome for o in second.outcomes} == {"unchanged"}
    manifest = state.objects[0]
    resource = capabilities(cluster).resource_for(manifest["apiVersion"], manifest["kind"])
    live = cluster.get(resource=resource, namespace=policy_ns, name=manifest["metadata"]["name"])
    assert (live["apiVersion"], live["spec"]) == ("networking.istio.io/v1beta1", manifest["spec"])


def test_asm_target_without_our_crd_is_crd_missing(old_plane):
    cluster = connect(old_plane)
    with pytest.raises(CrdMissing) as caught:
        desired_state(merged_policy("1"), capabilities(cluster), target="asm")
    assert caught.value.code == "CLUSTER-E004"
    assert caught.value.message == (
        "The cluster does not serve asmegresstrafficpolicies.istio.alibabacloud.com; "
        "install it with `python manage.py egress crd | kubectl apply -f -`."
    )
