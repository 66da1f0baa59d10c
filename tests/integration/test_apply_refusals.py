"""What a real kube-apiserver refuses, and how the console reports it.

Given the unprivileged user, an object the Istio schema rejects, or a missing namespace, when
a policy is applied, then the error names what a person must fix (verb and resource, field
path, namespace) and nothing at all was written: the server dry run of the whole set runs
before the first real write.
"""

from __future__ import annotations

import uuid

import pytest

from policies.cluster.apply import apply_objects
from policies.cluster.diff import list_live
from policies.cluster.discovery import capabilities
from policies.cluster.errors import Forbidden, Invalid, NotFound
from policies.cluster.targets import desired_state
from policies.core.document import parse_policy_data
from tests.fixtures.cluster import connect, merged_policy, seed_data

pytestmark = pytest.mark.integration

ISTIO_GROUPS = ["networking.istio.io", "security.istio.io"]


def state_of(cluster, namespaces, policy=None):
    policy = policy or merged_policy("2", namespace=namespaces.policy)
    return desired_state(policy, capabilities(cluster), target="istio", settings=namespaces.settings)


def nothing_written(admin_cluster, scope):
    return list_live(admin_cluster, caps=capabilities(admin_cluster), scope=scope) == {}


def grant(plane, namespace, rules):
    """Bind alice to a Role in ``namespace`` (or, when None, a ClusterRole); returns the binding's path."""
    name = f"alice-{uuid.uuid4().hex[:8]}"
    scoped = f"/namespaces/{namespace}" if namespace else ""
    kind, prefix = ("Role", "role") if namespace else ("ClusterRole", "clusterrole")
    base = f"/apis/rbac.authorization.k8s.io/v1{scoped}"
    status, body = plane.request("POST", f"{base}/{prefix}s", {"metadata": {"name": name}, "rules": rules})
    assert status == 201, body
    binding = {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
        "subjects": [{"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"}],
    }
    status, body = plane.request("POST", f"{base}/{prefix}bindings", binding)
    assert status == 201, body
    return f"{base}/{prefix}bindings/{name}"


@pytest.fixture
def alice_reads_everything(apply_plane):
    """Alice may get/list Istio and ASM objects cluster-wide, for this test only."""
    rules = [{"apiGroups": [*ISTIO_GROUPS, "istio.alibabacloud.com"], "resources": ["*"], "verbs": ["get", "list"]}]
    binding = grant(apply_plane, None, rules)
    yield
    status, body = apply_plane.request("DELETE", binding)
    assert status == 200, body


def test_user_without_rights_is_forbidden_before_anything_is_written(apply_plane, admin_cluster, namespaces):
    alice = connect(apply_plane, "alice")
    state = state_of(alice, namespaces)

    result = apply_objects(alice, desired=state.objects, scope=state.scope)

    assert isinstance(result.error, Forbidden)
    assert (result.error.verb, result.error.resource) == ("list", "gateways.networking.istio.io")
    assert 'User "alice" cannot list resource "gateways"' in result.error.message
    assert {o.outcome for o in result.outcomes} == {"skipped"}
    assert nothing_written(admin_cluster, state.scope)


@pytest.mark.usefixtures("alice_reads_everything")
def test_missing_patch_right_stops_in_dry_run_with_every_refusal(apply_plane, admin_cluster, namespaces):
    for namespace in (namespaces.policy, namespaces.gateway):
        grant(
            apply_plane,
            namespace,
            [
                {
                    "apiGroups": ["networking.istio.io"],
                    "resources": ["serviceentries", "destinationrules"],
                    "verbs": ["create", "patch"],
                }
            ],
        )
    alice = connect(apply_plane, "alice")
    state = state_of(alice, namespaces)

    result = apply_objects(alice, desired=state.objects, scope=state.scope)

    failed = [(o.ref.kind, o.error.verb, o.error.resource) for o in result.outcomes if o.outcome == "failed"]
    assert failed == [
        ("Gateway", "patch", "gateways.networking.istio.io"),
        ("VirtualService", "patch", "virtualservices.networking.istio.io"),
        ("VirtualService", "patch", "virtualservices.networking.istio.io"),
    ]
    assert all(isinstance(o.error, Forbidden) for o in result.outcomes if o.outcome == "failed")
    assert nothing_written(admin_cluster, state.scope)  # NB: ServiceEntry/DestinationRule were allowed, not written


def test_schema_rejection_is_invalid_with_field_path(admin_cluster, namespaces):
    data = seed_data("4")
    data["metadata"]["namespace"] = namespaces.policy
    data["spec"]["egressRules"][0]["to"][0]["port"]["number"] = 70000  # NB: the console's validation would stop this
    state = state_of(admin_cluster, namespaces, parse_policy_data(data).policy)

    result = apply_objects(admin_cluster, desired=state.objects, scope=state.scope)

    errors = {o.ref.kind: o.error for o in result.outcomes if o.outcome == "failed"}
    assert isinstance(errors["ServiceEntry"], Invalid)
    assert [c.field for c in errors["ServiceEntry"].causes] == ["spec.ports[0].number"]
    assert "spec.ports[0].number" in errors["ServiceEntry"].message
    assert nothing_written(admin_cluster, state.scope)


def test_missing_namespace_is_named_with_how_to_create_it(apply_plane, admin_cluster):
    policy = merged_policy("1", namespace=f"absent-{uuid.uuid4().hex[:8]}")
    state = desired_state(policy, capabilities(admin_cluster), target="asm")

    result = apply_objects(admin_cluster, desired=state.objects, scope=state.scope)

    error = result.outcomes[0].error
    assert isinstance(error, NotFound)
    assert error.message == (
        f"ASMEgressTrafficPolicy {state.scope.namespace}/egress-by-egressgateway: Namespace "
        f"{state.scope.namespace!r} does not exist; create it with `kubectl create namespace "
        f"{state.scope.namespace}`."
    )
