"""Regressions found by exploratory testing of the cluster verbs' summaries (``egress apply/delete``)."""

from __future__ import annotations

from policies.cli.cluster_output import summary_counts
from policies.cluster.apply import ApplyResult
from policies.cluster.errors import Forbidden


def test_a_run_stopped_before_any_object_says_nothing_was_done_not_no_objects() -> None:
    # Given: alice may not even list the policy's objects
    result = ApplyResult(
        target="istio", dry_run=False, error=Forbidden("cannot list gateways", verb="list", resource="gateways")
    )

    # When / Then: "no objects" would claim the cluster holds none
    assert summary_counts(result) == "nothing done (stopped by the error below)"


def test_a_run_over_no_objects_says_no_objects() -> None:
    # Given: deleting a policy a second time
    result = ApplyResult(target="istio", dry_run=False)

    # When / Then
    assert summary_counts(result) == "no objects"
