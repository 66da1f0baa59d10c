"""Issue 12, item 5: deploy/ on a real kube-apiserver, and the console's least privilege in it.

The manifests are applied as ``kubectl apply -k deploy/`` sends them (``kustomize build deploy/``,
kustomize built at a pinned version by testenv/kustomize.py) with a server-side dry run, so the
apiserver's own validation and admission judge them. Then the RBAC objects are applied for real
and the console's cluster layer runs as the ServiceAccount (the admin impersonates it with
``Impersonate-User``): it can apply, re-apply and delete a seed policy, and it cannot read
Secrets or touch any kind it does not manage.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
import yaml

from policies.cluster.apply import apply_objects
from policies.cluster.delete import delete_policy
from policies.cluster.discovery import GROUP_OF_KIND, PLURALS, capabilities
from policies.cluster.errors import Forbidden
from policies.cluster.kubernetes_client import KubernetesClusterApi
from policies.cluster.mesh import MeshOutbound, read_outbound_mode
from policies.cluster.targets import desired_state
from policies.cluster.transport import Transport
from testenv.kustomize import kustomize_build
from tests.fixtures.cluster import connect, merged_policy

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NAMESPACE = "egress-console"
SERVICE_ACCOUNT = f"system:serviceaccount:{NAMESPACE}:egress-console"
# kind -> (API prefix, plural, namespaced) for every kind deploy/ holds
REST = {
    "Namespace": ("/api/v1", "namespaces", False),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "ConfigMap": ("/api/v1", "configmaps", True),
    "Service": ("/api/v1", "services", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "PodDisruptionBudget": ("/apis/policy/v1", "poddisruptionbudgets", True),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
}
VERBS = ["get", "list", "create", "patch", "delete"]


def kustomization() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())


def files() -> list[dict[str, Any]]:
    """Every object of the kustomization's resources as the files hold them, in its order."""
    return [doc for name in kustomization()["resources"] for doc in yaml.safe_load_all((DEPLOY / name).read_text())]


@functools.cache
def built() -> tuple[dict[str, Any], ...]:
    return tuple(yaml.safe_load_all(kustomize_build(DEPLOY)))


def manifests() -> list[dict[str, Any]]:
    """What ``kubectl apply -k deploy/`` applies, in its order: ``kustomize build deploy/`` (fresh copies)."""
    return copy.deepcopy(list(built()))


def path_of(manifest: dict[str, Any]) -> str:
    prefix, plural, namespaced = REST[manifest["kind"]]
    scope = f"/namespaces/{manifest['metadata']['namespace']}" if namespaced else ""
    return f"{prefix}{scope}/{plural}/{manifest['metadata']['name']}"


def server_side_apply(plane: Any, manifest: dict[str, Any], *, dry_run: bool) -> tuple[int, Any]:
    query = "?fieldManager=kubectl&force=true" + ("&dryRun=All" if dry_run else "")
    return plane.request("PATCH", path_of(manifest) + query, manifest, content_type="application/apply-patch+yaml")


def as_service_account(plane: Any) -> KubernetesClusterApi:
    """The console's real cluster client, authenticated as admin and impersonating the ServiceAccount."""
    admin = connect(plane)
    api_client = admin.transport.api_client
    api_client.set_default_header("Impersonate-User", SERVICE_ACCOUNT)
    return KubernetesClusterApi(Transport(api_client), identity=f"{api_client.configuration.host}#{SERVICE_ACCOUNT}")


def allowed(plane: Any, verb: str, group: str, resource: str, namespace: str = "") -> bool:
    """The apiserver's answer to a SubjectAccessReview for the ServiceAccount (its groups included)."""
    attributes = {"verb": verb, "group": group, "resource": resource, "namespace": namespace}
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": SERVICE_ACCOUNT,
            "groups": ["system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}", "system:authenticated"],
            "resourceAttributes": attributes,
        },
    }
    status, body = plane.request("POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", review)
    assert status == 201, body
    return bool(body["status"].get("allowed"))


@pytest.fixture(scope="module")
def deployed(apply_plane: Any) -> Any:
    """The Namespace and the RBAC objects of deploy/ applied for real (the rest only ever dry-run)."""
    for manifest in manifests():
        if manifest["kind"] in {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding"}:
            status, body = server_side_apply(apply_plane, manifest, dry_run=False)
            assert status in (200, 201), body
    return apply_plane


def test_the_kustomization_lists_every_manifest_and_each_names_the_namespace():
    assert kustomization()["namespace"] == NAMESPACE
    assert sorted(kustomization()["resources"]) == sorted(
        p.name for p in DEPLOY.glob("*.yaml") if p.stem != "kustomization"
    )
    for manifest in files():
        assert REST[manifest["kind"]][2] == ("namespace" in manifest["metadata"]), manifest["kind"]
        assert manifest["metadata"].get("namespace", NAMESPACE) == NAMESPACE
    assert not any(m["kind"] == "Secret" for m in manifests())


def test_kustomize_changes_nothing_but_the_image():
    # given the files with the kustomization's image applied by hand
    [image] = kustomization()["images"]
    expected = files()
    for manifest in expected:
        for container in manifest.get("spec", {}).get("template", {}).get("spec", {}).get("initContainers", []) + (
            manifest.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [])
        ):
            assert container["image"] == image["name"]
            container["image"] = f"{image['newName']}:{image['newTag']}"

    # then kustomize's output is exactly that (in its own kind order): the plain files apply as they are
    def key(manifest: dict[str, Any]) -> tuple[str, str]:
        return (manifest["kind"], manifest["metadata"]["name"])

    assert sorted(manifests(), key=key) == sorted(expected, key=key)


def test_every_manifest_passes_a_server_side_dry_run(deployed):
    for manifest in manifests():
        status, body = server_side_apply(deployed, manifest, dry_run=True)
        assert status in (200, 201), (manifest["kind"], body)
    # and a dry run wrote nothing
    for deployment in [m for m in manifests() if m["kind"] == "Deployment"]:
        assert deployed.request("GET", path_of(deployment))[0] == 404


def test_the_dry_run_judges_the_manifests(deployed):
    # given the PodDisruptionBudget with both of its mutually exclusive fields set
    [budget] = [m for m in manifests() if m["kind"] == "PodDisruptionBudget"]
    broken = copy.deepcopy(budget)
    broken["spec"]["maxUnavailable"] = 1
    # then the apiserver refuses it
    status, body = server_side_apply(deployed, broken, dry_run=True)
    assert status == 422, body


@pytest.mark.parametrize("component", ["web", "worker"])
def test_the_pods_meet_the_restricted_pod_security_standard(deployed, component):
    # given a Pod made from the Deployment's template, in the namespace that enforces "restricted"
    [deployment] = [m for m in manifests() if m["kind"] == "Deployment" and m["metadata"]["name"].endswith(component)]
    template = deployment["spec"]["template"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"{component}-check", **template["metadata"]}}
    pod["spec"] = template["spec"]
    # when it is created (dry run): the PodSecurity admission plugin refuses any pod that breaks the standard
    status, body = deployed.request("POST", f"/api/v1/namespaces/{NAMESPACE}/pods?dryRun=All", pod)
    assert status == 201, body
    # and the same pod as root is refused, so the check is live
    pod["spec"] = {**pod["spec"], "securityContext": {"runAsUser": 0}}
    assert deployed.request("POST", f"/api/v1/namespaces/{NAMESPACE}/pods?dryRun=All", pod)[0] == 403


def test_the_cluster_role_is_exactly_the_managed_kinds_and_namespaces_read_only():
    [role] = [m for m in manifests() if m["kind"] == "ClusterRole"]
    granted = {
        (g, r, v) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"] for v in rule["verbs"]
    }
    managed = {(GROUP_OF_KIND[kind], PLURALS[kind]) for kind in PLURALS}
    assert granted == {(g, r, v) for g, r in managed for v in VERBS} | {
        ("", "namespaces", "get"),
        ("", "namespaces", "list"),
        ("", "configmaps", "get"),  # NB: the istio ConfigMap only (resourceNames), for the mesh's outbound mode
        ("networking.istio.io", "sidecars", "list"),  # NB: every namespace's Sidecars, for the mode and simulations
        ("", "pods", "list"),  # NB: Discover maps logged pod names to workloads (read-only)
    }
    [configmaps] = [rule for rule in role["rules"] if "configmaps" in rule["resources"]]
    assert configmaps["resourceNames"] == ["istio"]
    assert "*" not in yaml.safe_dump(role["rules"])


def test_the_service_account_can_apply_reapply_and_delete_a_seed_policy(deployed, namespaces):
    # given the console's cluster layer running as the ServiceAccount
    console = as_service_account(deployed)
    policy = merged_policy("2", "4", namespace=namespaces.policy)
    for target in ("istio", "asm"):
        state = desired_state(policy, capabilities(console), target=target, settings=namespaces.settings)
        # when it applies the policy, then again, then deletes it
        created = apply_objects(console, desired=state.objects, scope=state.scope, target=target)
        again = apply_objects(console, desired=state.objects, scope=state.scope, target=target)
        deleted = delete_policy(console, scope=state.scope, target=target)
        # then each step succeeds
        assert (created.ok, again.ok, deleted.ok) == (True, True, True), (created.errors, again.errors, deleted.errors)
        assert {o.outcome for o in created.outcomes} == {"created"}
        assert {o.outcome for o in again.outcomes} == {"unchanged"}
        assert {o.outcome for o in deleted.outcomes} == {"pruned"}
        assert len(created.outcomes) == len(state.objects) >= 1


def test_the_service_account_cannot_read_secrets_or_touch_other_kinds(deployed, namespaces):
    # given the console's cluster layer running as the ServiceAccount
    console = as_service_account(deployed)
    kinds = {r.kind: r for r in console.resources(group="", version="v1")}
    sidecars = {r.kind: r for r in console.resources(group="networking.istio.io", version="v1")}["Sidecar"]
    peer = {r.kind: r for r in console.resources(group="security.istio.io", version="v1")}["PeerAuthentication"]
    # then it lists Sidecars in every namespace (the check keeps them for simulations)
    assert isinstance(console.list(resource=sidecars, label_selector="", namespace=""), list)
    # and Secrets, ConfigMaps and Istio kinds it does not manage are refused, read or write (it only lists
    # Sidecars and reads the istio ConfigMap, for the mesh's outbound mode)
    for resource in (kinds["Secret"], kinds["ConfigMap"], sidecars, peer):
        if resource is not sidecars:
            with pytest.raises(Forbidden):
                console.list(resource=resource, label_selector="", namespace=namespaces.gateway)
        manifest = {
            "apiVersion": resource.api_version,
            "kind": resource.kind,
            "metadata": {"name": "x", "namespace": namespaces.gateway},
        }
        with pytest.raises(Forbidden):
            console.apply(resource=resource, manifest=manifest, dry_run=True)
    with pytest.raises(Forbidden):
        console.get(resource=kinds["Secret"], namespace=NAMESPACE, name="egress-console")
    with pytest.raises(Forbidden):
        console.get(resource=kinds["ConfigMap"], namespace="istio-system", name="istio-ca-root-cert")
    # and namespaces are read-only
    assert console.get(resource=kinds["Namespace"], namespace="", name=namespaces.gateway)["metadata"]["name"]
    namespace = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": namespaces.gateway, "labels": {"x": "y"}},
    }
    with pytest.raises(Forbidden):
        console.apply(resource=kinds["Namespace"], manifest=namespace, dry_run=True)


def test_the_service_account_reads_the_mesh_outbound_mode(deployed):
    # given the istio ConfigMap in REGISTRY_ONLY mode (istio-system is shared: removed again below)
    assert deployed.request("POST", "/api/v1/namespaces", {"metadata": {"name": "istio-system"}})[0] in (201, 409)
    configmap = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "istio", "namespace": "istio-system"},
        "data": {"mesh": "outboundTrafficPolicy:\n  mode: REGISTRY_ONLY\n"},
    }
    assert deployed.request("POST", "/api/v1/namespaces/istio-system/configmaps", configmap)[0] == 201
    try:
        # when the console's check reads it as the ServiceAccount
        console = as_service_account(deployed)
        outbound = read_outbound_mode(console, capabilities(console))
    finally:
        deployed.request("DELETE", "/api/v1/namespaces/istio-system/configmaps/istio")
    # then the role allows exactly what that needs
    assert outbound == MeshOutbound("REGISTRY_ONLY", "mesh-config", "istio-system/istio")


@pytest.mark.parametrize(
    ("verb", "group", "resource"),
    [
        ("get", "", "secrets"),
        ("list", "", "secrets"),
        ("watch", "", "secrets"),
        ("update", "networking.istio.io", "virtualservices"),
        ("watch", "networking.istio.io", "virtualservices"),
        ("deletecollection", "networking.istio.io", "serviceentries"),
        ("create", "", "namespaces"),
        ("delete", "", "namespaces"),
        ("create", "", "pods"),
        ("create", "rbac.authorization.k8s.io", "clusterrolebindings"),
        ("escalate", "rbac.authorization.k8s.io", "clusterroles"),
        ("impersonate", "", "users"),
        ("patch", "apiextensions.k8s.io", "customresourcedefinitions"),
        ("create", "networking.istio.io", "envoyfilters"),
        ("create", "security.istio.io", "requestauthentications"),
    ],
)
def test_the_apiserver_denies_what_the_console_never_does(deployed, verb, group, resource):
    assert not allowed(deployed, verb, group, resource, namespace="istio-system")


@pytest.mark.parametrize("kind", sorted(PLURALS))
def test_the_apiserver_allows_each_verb_the_console_uses_on_each_managed_kind(deployed, kind):
    assert [allowed(deployed, verb, GROUP_OF_KIND[kind], PLURALS[kind], namespace="any-ns") for verb in VERBS] == [
        True
    ] * 5
