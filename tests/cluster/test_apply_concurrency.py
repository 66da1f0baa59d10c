"""Apply with requests in flight at once: same outcomes, same order, same stops as one by one.

The fake cluster here answers each request after a short delay (longer for earlier objects, so
answers come back out of order) and records how many requests overlap, which kinds were written
while another kind was still in flight, and on which thread ``progress`` ran.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from policies.cluster.apply import apply_objects
from policies.cluster.discovery import capabilities
from policies.cluster.errors import ClusterUnreachable, Conflict
from policies.cluster.fake import FakeClusterApi
from policies.cluster.interface import Object, ResourceType
from policies.cluster.scope import PolicyScope
from policies.cluster.targets import desired_state, policy_scope
from policies.core.document import parse_policy_data
from policies.core.gateway import TranslationSettings
from tests.fixtures.console import policy_with_targets

SCOPE = PolicyScope("egress-by-egressgateway", "istio-egress")
TARGETS = 12  # NB: 12 ServiceEntries, a DestinationRule, a Gateway and 24 VirtualServices


class SlowCluster(FakeClusterApi):
    """A fake whose answers take a few ms each (a random but fixed delay per object) and that can fail one write."""

    def __init__(self) -> None:
        super().__init__(identity=f"fake://slow-{id(self)}")
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.writing: list[str] = []
        self.writes_sent = 0
        self.kinds_written_together: set[tuple[str, str]] = set()
        self.written: list[str] = []
        self.failing_write: tuple[str, Exception] | None = None

    def apply(self, *, resource: ResourceType, manifest: Object, dry_run: bool = False, force: bool = False) -> Object:
        name = manifest["metadata"]["name"]
        self._enter(resource.kind, dry_run)
        try:
            if not dry_run and self.failing_write and self.failing_write[0] == name:
                raise self.failing_write[1]  # NB: at once, while the writes sent before it are still in flight
            time.sleep(random.Random(name).uniform(0.001, 0.008))  # noqa: S311 (a delay, not a secret)
            stored = super().apply(resource=resource, manifest=manifest, dry_run=dry_run, force=force)
            if not dry_run:
                with self.lock:
                    self.written.append(name)
            return stored
        finally:
            self._leave(resource.kind, dry_run)

    def _enter(self, kind: str, dry_run: bool) -> None:
        with self.lock:
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            if not dry_run:
                self.kinds_written_together |= {(other, kind) for other in self.writing if other != kind}
                self.writing.append(kind)
                self.writes_sent += 1

    def _leave(self, kind: str, dry_run: bool) -> None:
        with self.lock:
            self.in_flight -= 1
            if not dry_run:
                self.writing.remove(kind)


def policy_objects(cluster: FakeClusterApi, targets: int = TARGETS) -> list[Object]:
    """The Istio objects of a one-rule policy with ``targets`` HTTP targets, in apply order."""
    policy = parse_policy_data(policy_with_targets(targets, rules=1)).policy
    assert policy is not None and policy_scope(policy) == SCOPE
    return desired_state(policy, capabilities(cluster), target="istio", settings=TranslationSettings()).objects


@pytest.fixture
def cluster() -> SlowCluster:
    return SlowCluster()


def test_outcomes_come_back_in_apply_order_though_answers_arrive_out_of_order(cluster: SlowCluster) -> None:
    # Given
    objects = policy_objects(cluster)
    progress_threads: list[int] = []

    # When
    result = apply_objects(
        cluster,
        desired=objects,
        scope=SCOPE,
        concurrency=8,
        progress=lambda _: progress_threads.append(threading.get_ident()),
    )

    # Then: every object created, listed in apply order; progress once per object, on this thread
    assert result.ok
    assert [(o.ref.kind, o.ref.name, o.outcome) for o in result.outcomes] == [
        (m["kind"], m["metadata"]["name"], "created") for m in objects
    ]
    assert progress_threads == [threading.get_ident()] * len(objects)
    assert 1 < cluster.most_in_flight <= 8
    assert cluster.written != [m["metadata"]["name"] for m in objects]  # NB: really out of order


def test_no_kind_is_written_before_the_kinds_it_depends_on_are_done(cluster: SlowCluster) -> None:
    # Given
    objects = policy_objects(cluster)

    # When
    apply_objects(cluster, desired=objects, scope=SCOPE, concurrency=8)

    # Then: writes overlapped, but only writes of one kind (every ServiceEntry is stored before a route is sent)
    assert cluster.most_in_flight > 1
    assert cluster.kinds_written_together == set()


def test_a_write_failing_midway_stops_the_later_kinds_and_reports_the_rest_skipped(cluster: SlowCluster) -> None:
    # Given: the write (not the dry run) of the second VirtualService is refused
    objects = policy_objects(cluster)
    failing = [i for i, m in enumerate(objects) if m["kind"] == "VirtualService"][1]
    cluster.failing_write = (objects[failing]["metadata"]["name"], Conflict("moved"))
    seen: list[str] = []

    # When
    result = apply_objects(
        cluster, desired=objects, scope=SCOPE, concurrency=4, progress=lambda outcome: seen.append(outcome.outcome)
    )

    # Then: the kinds before it are written; the routes in flight finished, the others were never sent
    outcomes = [o.outcome for o in result.outcomes]
    first_route = failing - 1
    assert outcomes[:first_route] == ["created"] * first_route
    assert outcomes[failing] == "failed"
    assert set(outcomes[first_route:]) == {"created", "failed", "skipped"}
    assert outcomes.count("skipped") >= (len(objects) - first_route) // 2
    assert outcomes.count("created") + 1 == cluster.writes_sent  # NB: every write sent is reported
    assert result.error is None and not result.ok
    assert sorted(seen) == sorted(o for o in outcomes if o != "skipped")

    # And: the same apply again converges
    cluster.failing_write = None
    again = apply_objects(cluster, desired=objects, scope=SCOPE, concurrency=4)
    assert again.ok and {o.outcome for o in again.outcomes} == {"created", "unchanged"}


def test_a_fatal_error_stops_every_further_write_and_is_the_result_error(cluster: SlowCluster) -> None:
    # Given: the server goes away at the third ServiceEntry's write
    objects = policy_objects(cluster)
    cluster.failing_write = (objects[2]["metadata"]["name"], ClusterUnreachable("gone"))

    # When
    result = apply_objects(cluster, desired=objects, scope=SCOPE, concurrency=4)

    # Then: nothing of a later kind was sent, every object not written is skipped
    assert isinstance(result.error, ClusterUnreachable)
    kinds_written = {m["kind"] for m in objects if m["metadata"]["name"] in cluster.written}
    assert kinds_written <= {"ServiceEntry"}
    assert [o.outcome for o in result.outcomes[TARGETS:]] == ["skipped"] * (len(objects) - TARGETS)
    assert result.outcomes[2].outcome == "failed"


def test_a_fatal_error_in_a_dry_run_stops_the_plan_and_writes_nothing(cluster: SlowCluster) -> None:
    # Given
    objects = policy_objects(cluster)
    cluster.fail("patch", "VirtualService", ClusterUnreachable("gone"))

    # When
    result = apply_objects(cluster, desired=objects, scope=SCOPE, concurrency=8)

    # Then
    assert isinstance(result.error, ClusterUnreachable)
    assert [o.outcome for o in result.outcomes] == ["skipped"] * len(objects)
    assert cluster.objects == {} and cluster.written == []


def test_concurrent_and_one_by_one_applies_give_the_same_outcomes_and_prune_the_same(cluster: SlowCluster) -> None:
    # Given: two clusters holding the 12-target policy, then the policy shrunk to 9 targets
    other = SlowCluster()
    for api in (cluster, other):
        apply_objects(api, desired=policy_objects(api), scope=SCOPE)
    smaller = policy_objects(cluster, targets=9)

    # When
    in_flight = apply_objects(cluster, desired=smaller, scope=SCOPE, concurrency=16)
    one_by_one = apply_objects(other, desired=smaller, scope=SCOPE, concurrency=1)

    # Then
    def summary(result):
        return [(o.ref.kind, o.ref.name, o.outcome, len(o.changes)) for o in result.outcomes]

    assert summary(in_flight) == summary(one_by_one)
    assert [o.outcome for o in in_flight.outcomes].count("pruned") == 9
    assert sorted(cluster.objects) == sorted(other.objects)
