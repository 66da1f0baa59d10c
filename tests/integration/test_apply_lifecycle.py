"""Prune, conflicts, drift and delete on a real kube-apiserver.

Given a policy applied to fresh namespaces, when its objects or the policy change, then the
console prunes exactly what is no longer generated, refuses to overwrite another field
manager's edit until forced, reports that edit as drift, and deletes every object by label.
"""

from __future__ import annotations

import pytest

from policies.cluster.apply import apply_objects
from policies.cluster.delete import delete_policy
from policies.cluster.diff import list_live
from policies.cluster.discovery import capabilities
from policies.cluster.drift import detect_drift
from policies.cluster.errors import Conflict
from policies.cluster.targets import desired_state
from tests.fixtures.cluster import merged_policy

pytestmark = pytest.mark.integration

TCP = "aliyun-service-tcp"


def state_of(cluster, namespaces, *, drop=()):
    policy = merged_policy("2", "4", namespace=namespaces.policy, drop=drop)
    return desired_state(policy, capabilities(cluster), target="istio", settings=namespaces.settings)


def live_keys(cluster, scope):
    return sorted(live_key for live_key in list_live(cluster, caps=capabilities(cluster), scope=scope))


def edit_as(plane, manifest, patch, manager="kubectl-edit"):
    group_version = manifest["apiVersion"]
    plural = {"ServiceEntry": "serviceentries", "VirtualService": "virtualservices"}[manifest["kind"]]
    meta = manifest["metadata"]
    path = f"/apis/{group_version}/namespaces/{meta['namespace']}/{plural}/{meta['name']}?fieldManager={manager}"
    status, body = plane.request("PATCH", path, patch, content_type="application/merge-patch+json")
    assert status == 200, body


def test_removing_a_to_entry_prunes_exactly_its_objects(admin_cluster, namespaces):
    full = state_of(admin_cluster, namespaces)
    assert apply_objects(admin_cluster, desired=full.objects, scope=full.scope).ok
    smaller = state_of(admin_cluster, namespaces, drop=(TCP,))

    result = apply_objects(admin_cluster, desired=smaller.objects, scope=smaller.scope)

    assert result.ok, result.errors
    p = "egress-by-egressgateway"
    assert sorted((r.kind, r.namespace, r.name) for r in result.refs("pruned")) == [
        ("ServiceEntry", namespaces.policy, f"{p}-{TCP}"),
        ("VirtualService", namespaces.policy, f"{p}-{TCP}-gw"),
        ("VirtualService", namespaces.policy, f"{p}-{TCP}-mesh"),
    ]
    assert sorted((r.kind, r.namespace, r.name) for r in result.refs("configured")) == [
        ("DestinationRule", namespaces.gateway, p),
        ("Gateway", namespaces.policy, p),
    ]
    assert live_keys(admin_cluster, smaller.scope) == sorted(
        (m["kind"], m["metadata"]["namespace"], m["metadata"]["name"]) for m in smaller.objects
    )


def test_other_field_manager_conflicts_until_forced(apply_plane, admin_cluster, namespaces):
    state = state_of(admin_cluster, namespaces)
    apply_objects(admin_cluster, desired=state.objects, scope=state.scope)
    service_entry = state.objects[0]
    edit_as(apply_plane, service_entry, {"spec": {"hosts": ["www.example.org"]}})

    blocked = apply_objects(admin_cluster, desired=state.objects, scope=state.scope)

    failed = [o for o in blocked.outcomes if o.outcome == "failed"]
    assert [o.ref.name for o in failed] == [service_entry["metadata"]["name"]]
    error = failed[0].error
    assert isinstance(error, Conflict)
    assert (error.managers, error.fields) == (("kubectl-edit",), (".spec.hosts",))
    assert "kubectl-edit" in error.message and "--force-conflicts" in error.message

    forced = apply_objects(admin_cluster, desired=state.objects, scope=state.scope, force_conflicts=True)

    assert forced.ok, forced.errors
    assert forced.outcomes[0].outcome == "configured"
    assert [c.dotted_path for c in forced.outcomes[0].changes] == ["spec.hosts"]
    again = apply_objects(admin_cluster, desired=state.objects, scope=state.scope)
    assert {o.outcome for o in again.outcomes} == {"unchanged"}


def test_drift_reports_out_of_band_edit_and_its_editor(apply_plane, admin_cluster, namespaces):
    state = state_of(admin_cluster, namespaces)
    apply_objects(admin_cluster, desired=state.objects, scope=state.scope)
    assert detect_drift(admin_cluster, desired=state.objects, scope=state.scope).drifted == []
    service_entry = state.objects[0]
    edit_as(apply_plane, service_entry, {"spec": {"location": "MESH_INTERNAL"}})

    report = detect_drift(admin_cluster, desired=state.objects, scope=state.scope)

    assert [(i.ref.name, i.state, i.managers) for i in report.drifted] == [
        (service_entry["metadata"]["name"], "modified", ("kubectl-edit",))
    ]
    change = report.drifted[0].changes[0]
    assert (change.dotted_path, change.old, change.new) == ("spec.location", "MESH_INTERNAL", "MESH_EXTERNAL")


def test_delete_removes_every_labelled_object(admin_cluster, namespaces):
    state = state_of(admin_cluster, namespaces)
    apply_objects(admin_cluster, desired=state.objects, scope=state.scope)

    result = delete_policy(admin_cluster, scope=state.scope)

    assert result.ok, result.errors
    assert len(result.refs("pruned")) == len(state.objects)
    assert live_keys(admin_cluster, state.scope) == []


def test_dry_runs_of_prune_and_delete_delete_nothing(admin_cluster, namespaces):
    full = state_of(admin_cluster, namespaces)
    apply_objects(admin_cluster, desired=full.objects, scope=full.scope)
    before = live_keys(admin_cluster, full.scope)
    smaller = state_of(admin_cluster, namespaces, drop=(TCP,))

    planned = apply_objects(admin_cluster, desired=smaller.objects, scope=smaller.scope, dry_run=True)
    deleting = delete_policy(admin_cluster, scope=full.scope, dry_run=True)

    assert len(planned.refs("pruned")) == 3 and len(deleting.refs("pruned")) == len(full.objects)
    assert live_keys(admin_cluster, full.scope) == before
