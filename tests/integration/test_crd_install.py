"""The generated CRD on a real kube-apiserver: accepted as structural, both versions usable.

Marked ``integration``: it starts the testenv control plane (real kube-apiserver + etcd).
Namespaces are never deleted (no controller manager); each test uses a fresh one.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from kubernetes import config

from policies.core.crd import PLURAL, crd_manifest
from policies.core.document import parse_policy_text, policy_to_data
from policies.core.model import GROUP
from policies.core.yamlio import dump_yaml
from policies.seed import SCENARIOS, seed_text
from testenv.controlplane import ControlPlane

pytestmark = pytest.mark.integration
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@pytest.fixture(scope="module")
def control_plane(tmp_path_factory: pytest.TempPathFactory):
    crd_file = tmp_path_factory.mktemp("crd") / "asm-egress-crd.yaml"
    crd_file.write_text(dump_yaml(crd_manifest()), encoding="utf-8")
    cp = ControlPlane(crd_files=[crd_file])
    cp.start()
    try:
        yield cp
    finally:
        cp.stop()


def fresh_namespace(cp: ControlPlane) -> str:
    name = f"crd-{uuid.uuid4().hex[:10]}"
    status, body = cp.request("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
    assert status == 201, body
    return name


def seed_object(scenario: str, namespace: str, version: str = "v1") -> dict[str, Any]:
    data = policy_to_data(parse_policy_text(seed_text(f"scenario-{scenario}")).policy)
    return {**data, "apiVersion": f"{GROUP}/{version}", "metadata": {**data["metadata"], "namespace": namespace}}


def collection(namespace: str, version: str = "v1") -> str:
    return f"/apis/{GROUP}/{version}/namespaces/{namespace}/{PLURAL}"


def test_crd_is_established_with_both_versions(control_plane: ControlPlane) -> None:
    status, body = control_plane.request(
        "GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{PLURAL}.{GROUP}"
    )
    conditions = {c["type"]: c["status"] for c in body["status"]["conditions"]}
    assert (status, conditions.get("Established"), conditions.get("NonStructuralSchema")) == (200, "True", None)
    assert body["status"]["storedVersions"] == ["v1"]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_seed_policies_are_stored_unchanged(control_plane: ControlPlane, scenario: str) -> None:
    namespace = fresh_namespace(control_plane)
    sent = seed_object(scenario, namespace)
    status, body = control_plane.request("POST", collection(namespace), sent)
    assert status == 201, body
    assert (body["spec"], body["kind"]) == (sent["spec"], "ASMEgressTrafficPolicy")


def test_v1beta1_objects_are_readable_as_v1(control_plane: ControlPlane) -> None:
    namespace = fresh_namespace(control_plane)
    sent = seed_object("2", namespace, version="v1beta1")
    assert control_plane.request("POST", collection(namespace, "v1beta1"), sent)[0] == 201
    status, body = control_plane.request("GET", f"{collection(namespace)}/{sent['metadata']['name']}")
    assert (status, body["apiVersion"], body["spec"]) == (200, f"{GROUP}/v1", sent["spec"])


def test_wrongly_typed_fields_are_rejected_by_the_api_server(control_plane: ControlPlane) -> None:
    namespace = fresh_namespace(control_plane)
    sent = seed_object("1", namespace)
    sent["spec"]["egressRules"][0]["to"][0]["port"]["number"] = "80"
    status, body = control_plane.request("POST", collection(namespace), sent)
    assert (status, body["reason"]) == (422, "Invalid")
    assert [c["field"] for c in body["details"]["causes"]] == ["spec.egressRules[0].to[0].port.number"]


def test_status_subresource_feeds_the_printer_columns(control_plane: ControlPlane) -> None:
    # given a stored policy whose status the controller sets through the status subresource
    namespace = fresh_namespace(control_plane)
    sent = seed_object("4", namespace)
    _status, stored = control_plane.request("POST", collection(namespace), sent)
    stored["status"] = {"status": "Failed", "message": "gateway port 443 missing", "extra": "kept"}
    status, updated = control_plane.request("PUT", f"{collection(namespace)}/{sent['metadata']['name']}/status", stored)
    assert (status, updated["status"]) == (200, stored["status"])
    # when listed as kubectl does / then the ASM columns show the gateway and the message
    table = _table(control_plane, collection(namespace))
    assert [c["name"] for c in table["columnDefinitions"]][:4] == ["Name", "ByEgressGateway", "status", "Age"]
    assert table["rows"][0]["cells"][:3] == ["egress-by-egressgateway", "egressgateway", "gateway port 443 missing"]


def _table(cp: ControlPlane, path: str) -> dict[str, Any]:
    """The list as kubectl requests it: a server-side Table with the CRD's printer columns."""
    api = config.new_client_from_config(config_file=str(cp.kubeconfig_path), context="admin")
    method, url, headers, body, _post = api.param_serialize(
        "GET", path, header_params={"Accept": TABLE}, auth_settings=["BearerToken"]
    )
    response = api.call_api(method, url, header_params=headers, body=body)
    response.read()
    return json.loads(response.data)
