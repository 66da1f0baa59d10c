"""The API server dies in the middle of an apply.

Given an apply that has written two objects, when kube-apiserver is killed, then the result
is ClusterUnreachable, records exactly which objects were written and which were not tried;
when the server is back and the same apply runs again, it converges: every object is there,
nothing extra is left behind, and a third run changes nothing. One request at a time the cut
lands exactly after the second write; with requests in flight, the writes already sent finish
or fail, nothing further is sent, and the rerun converges just the same.
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.cluster.apply import apply_objects
from policies.cluster.diff import list_live
from policies.cluster.discovery import capabilities
from policies.cluster.errors import ClusterUnreachable
from policies.cluster.targets import desired_state
from policies.cluster.transport import RetryPolicy
from tests.fixtures.cluster import connect, merged_policy

pytestmark = pytest.mark.integration

FAST = RetryPolicy(attempts=2, backoff=0.1, connect_timeout=1.0, read_timeout=5.0)


def connect_and_plan(apply_plane: Any, namespaces: Any) -> tuple[Any, Any]:
    """A client that gives up fast, and the Istio objects for scenarios 2 and 4 in the test's namespaces."""
    cluster = connect(apply_plane, retry=FAST)
    state = desired_state(
        merged_policy("2", "4", namespace=namespaces.policy),
        capabilities(cluster),
        target="istio",
        settings=namespaces.settings,
    )
    return cluster, state


def assert_converged(cluster: Any, state: Any) -> None:
    """Exactly the desired objects are live, and one more apply changes nothing."""
    live = list_live(cluster, caps=capabilities(cluster), scope=state.scope)
    assert sorted(live) == sorted((m["kind"], m["metadata"]["namespace"], m["metadata"]["name"]) for m in state.objects)
    third = apply_objects(cluster, desired=state.objects, scope=state.scope)
    assert {o.outcome for o in third.outcomes} == {"unchanged"}


def test_apiserver_killed_midway_then_rerun_converges(apply_plane, namespaces):
    cluster, state = connect_and_plan(apply_plane, namespaces)
    written = []

    def kill_after_two(outcome):
        written.append(outcome.ref)
        if len(written) == 2:
            apply_plane.kill_apiserver()

    try:
        result = apply_objects(
            cluster, desired=state.objects, scope=state.scope, progress=kill_after_two, concurrency=1
        )
    finally:
        apply_plane.start_apiserver()

    assert isinstance(result.error, ClusterUnreachable)
    assert "connection refused" in result.error.message
    n = len(state.objects)
    assert [o.outcome for o in result.outcomes] == ["created", "created", "failed"] + ["skipped"] * (n - 3)
    assert result.refs("created") == written[:2]  # NB: progress also reported the failed third object

    again = apply_objects(cluster, desired=state.objects, scope=state.scope)

    assert again.ok, again.errors
    assert [o.outcome for o in again.outcomes] == ["unchanged", "unchanged"] + ["created"] * (n - 2)
    assert_converged(cluster, state)


def test_apiserver_killed_with_requests_in_flight_reports_what_was_written_and_rerun_converges(apply_plane, namespaces):
    cluster, state = connect_and_plan(apply_plane, namespaces)
    reported = []

    def kill_after_two(outcome):
        reported.append(outcome)
        if len(reported) == 2:
            apply_plane.kill_apiserver()

    try:
        result = apply_objects(
            cluster, desired=state.objects, scope=state.scope, progress=kill_after_two, concurrency=4
        )
    finally:
        apply_plane.start_apiserver()

    assert isinstance(result.error, ClusterUnreachable)
    outcomes = [o.outcome for o in result.outcomes]
    assert set(outcomes) == {"created", "failed", "skipped"} and outcomes.count("created") >= 2
    assert sorted(o.ref for o in reported) == sorted(o.ref for o in result.outcomes if o.outcome != "skipped")
    live = list_live(cluster, caps=capabilities(cluster), scope=state.scope)
    assert {(r.kind, r.namespace, r.name) for r in result.refs("created")} <= set(live)

    again = apply_objects(cluster, desired=state.objects, scope=state.scope)

    assert again.ok, again.errors
    created = set(result.refs("created"))
    assert {o.outcome for o in again.outcomes if o.ref in created} == {"unchanged"}
    assert {o.outcome for o in again.outcomes if o.ref not in created} <= {"created", "unchanged"}
    assert_converged(cluster, state)
