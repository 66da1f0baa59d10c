"""Plan, apply, prune, drift and delete against the in-memory fake cluster.

These pin the orchestration (what is dry-run, what is written, in which order, what is
recorded) in milliseconds; the same behaviours run against a real API server in
tests/integration/test_apply_*.py.
"""

from __future__ import annotations

import pytest

from policies.cluster.apply import apply_objects
from policies.cluster.delete import delete_policy
from policies.cluster.discovery import DiscoveryCache, capabilities
from policies.cluster.drift import detect_drift
from policies.cluster.errors import ClusterUnreachable, CrdMissing, Forbidden, Invalid, NotFound
from policies.cluster.fake import FakeClusterApi
from policies.cluster.scope import PolicyScope
from policies.cluster.targets import desired_state
from policies.core.gateway import TranslationSettings
from tests.fixtures.cluster import merged_policy
from tests.fixtures.seed import seed_policy

SCOPE = PolicyScope("egress-by-egressgateway", "istio-egress")


def desired(cluster, scenario="2", target=None, policy=None):
    """The manifests for a seed scenario (or ``policy``); the target is picked by discovery unless given."""
    chosen = policy or seed_policy(scenario)
    return desired_state(chosen, capabilities(cluster), target=target, settings=TranslationSettings()).objects


@pytest.fixture
def cluster():
    return FakeClusterApi(identity=f"fake://{id(object())}")


def outcomes(result):
    return [(o.ref.kind, o.ref.name, o.outcome) for o in result.outcomes]


def test_first_apply_creates_every_object_in_apply_order(cluster):
    objects = desired(cluster)
    result = apply_objects(cluster, desired=objects, scope=SCOPE)
    assert result.ok
    assert [o[2] for o in outcomes(result)] == ["created"] * len(objects)
    assert [o[0] for o in outcomes(result)] == [m["kind"] for m in objects]


def test_second_apply_is_all_unchanged_and_writes_nothing(cluster):
    objects = desired(cluster)
    apply_objects(cluster, desired=objects, scope=SCOPE)
    cluster.requests.clear()
    result = apply_objects(cluster, desired=objects, scope=SCOPE)
    assert {o.outcome for o in result.outcomes} == {"unchanged"}
    patches = [r for r in cluster.requests if r[0] == "patch"]
    assert len(patches) == len(objects)  # NB: the dry runs only; no real write
    assert all(not o.changes for o in result.outcomes)


def test_dropping_a_target_prunes_exactly_its_objects(cluster):
    apply_objects(cluster, desired=desired(cluster, policy=merged_policy("2", "4")), scope=SCOPE)
    smaller = desired(cluster, policy=merged_policy("2", "4", drop=("aliyun-service-tcp",)))
    result = apply_objects(cluster, desired=smaller, scope=SCOPE)
    assert result.ok
    assert sorted((r.kind, r.name) for r in result.refs("pruned")) == [
        ("ServiceEntry", "egress-by-egressgateway-aliyun-service-tcp"),
        ("VirtualService", "egress-by-egressgateway-aliyun-service-tcp-gw"),
        ("VirtualService", "egress-by-egressgateway-aliyun-service-tcp-mesh"),
    ]
    assert sorted((k, ns, n) for (_, k, ns, n) in cluster.objects) == sorted(
        (m["kind"], m["metadata"]["namespace"], m["metadata"]["name"]) for m in smaller
    )


def test_foreign_edit_conflicts_until_forced(cluster):
    objects = desired(cluster)
    apply_objects(cluster, desired=objects, scope=SCOPE)
    se = objects[0]
    cluster.edit(
        "ServiceEntry",
        se["metadata"]["namespace"],
        se["metadata"]["name"],
        ("spec", "hosts"),
        ["evil.example.com"],
        manager="kubectl-edit",
    )
    blocked = apply_objects(cluster, desired=objects, scope=SCOPE)
    assert not blocked.ok
    assert blocked.outcomes[0].outcome == "failed"
    assert blocked.outcomes[0].error.managers == ("kubectl-edit",)
    assert {o.outcome for o in blocked.outcomes[1:]} == {"unchanged"}
    forced = apply_objects(cluster, desired=objects, scope=SCOPE, force_conflicts=True)
    assert forced.ok and forced.outcomes[0].outcome == "configured"
    assert (
        cluster.stored("ServiceEntry", se["metadata"]["namespace"], se["metadata"]["name"])["spec"]["hosts"]
        == se["spec"]["hosts"]
    )


def test_dry_run_failure_writes_nothing_and_reports_every_error(cluster):
    objects = desired(cluster)
    cluster.fail(
        "patch", "VirtualService", Forbidden("no", verb="patch", resource="virtualservices.networking.istio.io")
    )
    result = apply_objects(cluster, desired=objects, scope=SCOPE)
    failed = [o for o in result.outcomes if o.outcome == "failed"]
    assert [o.ref.kind for o in failed] == ["VirtualService"] * sum(m["kind"] == "VirtualService" for m in objects)
    assert cluster.objects == {}


def test_missing_namespace_is_reported_not_created(cluster):
    cluster.namespaces = {"istio-system"}
    result = apply_objects(cluster, desired=desired(cluster), scope=SCOPE)
    errors = [o.error for o in result.outcomes if o.error]
    assert errors and all(isinstance(e, NotFound) for e in errors)
    assert "kubectl create namespace istio-egress" in errors[0].message


def test_unreachable_midway_records_what_was_written(cluster):
    objects = desired(cluster)
    written = []

    def cut_after_two(outcome):
        written.append(outcome.ref)
        if len(written) == 2:
            cluster.fail("patch", objects[2]["kind"], ClusterUnreachable("gone"))

    # NB: one request at a time, so the cut lands exactly after the second write (test_apply_concurrency: in flight)
    result = apply_objects(cluster, desired=objects, scope=SCOPE, progress=cut_after_two, concurrency=1)
    assert [o.outcome for o in result.outcomes] == ["created", "created", "failed"] + ["skipped"] * (len(objects) - 3)
    assert isinstance(result.error, ClusterUnreachable)
    cluster.failures.clear()
    again = apply_objects(cluster, desired=objects, scope=SCOPE)
    assert [o.outcome for o in again.outcomes] == ["unchanged", "unchanged"] + ["created"] * (len(objects) - 2)


def test_asm_target_without_crd_is_crd_missing(cluster):
    with pytest.raises(CrdMissing) as caught:
        desired(cluster, target="asm")
    assert caught.value.crd == "asmegresstrafficpolicies.istio.alibabacloud.com"


def test_asm_target_applies_the_labelled_cr():
    cluster = FakeClusterApi(groups={"istio.alibabacloud.com": ("v1beta1",)}, identity="fake://asm")
    objects = desired(cluster)  # NB: target picked by discovery
    assert [(m["apiVersion"], m["kind"]) for m in objects] == [
        ("istio.alibabacloud.com/v1beta1", "ASMEgressTrafficPolicy")
    ]
    assert objects[0]["metadata"]["labels"]["egress.console/policy"] == "egress-by-egressgateway"
    assert apply_objects(cluster, desired=objects, scope=SCOPE).ok


def test_v1beta1_only_cluster_gets_v1beta1_objects():
    cluster = FakeClusterApi(
        groups={"networking.istio.io": ("v1beta1",), "security.istio.io": ("v1beta1",)}, identity="fake://old-istio"
    )
    objects = desired(cluster)
    assert {m["apiVersion"] for m in objects} == {"networking.istio.io/v1beta1"}
    assert apply_objects(cluster, desired=objects, scope=SCOPE).ok


def test_drift_names_out_of_band_editor_and_missing_objects(cluster):
    objects = desired(cluster)
    apply_objects(cluster, desired=objects, scope=SCOPE)
    se, dr = objects[0], objects[1]
    cluster.edit(
        "ServiceEntry",
        se["metadata"]["namespace"],
        se["metadata"]["name"],
        ("spec", "location"),
        "MESH_INTERNAL",
        manager="kubectl-edit",
    )
    del cluster.objects[("networking.istio.io", "DestinationRule", dr["metadata"]["namespace"], dr["metadata"]["name"])]
    report = detect_drift(cluster, desired=objects, scope=SCOPE)
    states = {(i.ref.kind, i.ref.name): i.state for i in report.drifted}
    assert states == {
        ("ServiceEntry", se["metadata"]["name"]): "modified",
        ("DestinationRule", dr["metadata"]["name"]): "missing",
    }


def test_delete_removes_every_labelled_object_dependants_first(cluster):
    apply_objects(cluster, desired=desired(cluster), scope=SCOPE)
    result = delete_policy(cluster, scope=SCOPE)
    kinds = [o.ref.kind for o in result.outcomes]
    assert result.ok and cluster.objects == {}
    assert kinds.index("VirtualService") < kinds.index("Gateway") < kinds.index("ServiceEntry")


def test_discovery_is_cached_per_cluster(cluster):
    cache = DiscoveryCache()
    cache.get(cluster)
    cache.get(cluster)
    assert [r for r in cluster.requests if r[1] == "apigroups"] == [("get", "apigroups")]
    cache.forget(cluster)
    cache.get(cluster)
    assert len([r for r in cluster.requests if r[1] == "apigroups"]) == 2


def test_invalid_object_fails_in_dry_run(cluster):
    cluster.fail("patch", "Gateway", Invalid("bad port", status=422))
    result = apply_objects(cluster, desired=desired(cluster), scope=SCOPE)
    assert [o.ref.kind for o in result.outcomes if o.outcome == "failed"] == ["Gateway"]
    assert cluster.objects == {}
