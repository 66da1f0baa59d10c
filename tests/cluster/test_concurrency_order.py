"""``map_in_order`` under failures: it raises what a one-by-one run would raise, whichever call failed first."""

from __future__ import annotations

import threading
import time

import pytest

from policies.cluster.concurrency import map_in_order


def test_the_earliest_item_s_failure_wins_even_when_a_later_one_fails_first() -> None:
    # Given: item 0 fails slowly, item 1 fails at once
    def work(item: int) -> int:
        if item == 0:
            time.sleep(0.2)
        raise ValueError(f"item {item}")

    # When / Then
    with pytest.raises(ValueError, match="item 0"):
        map_in_order(work, [0, 1], concurrency=2)


def test_calls_not_started_when_one_fails_are_never_run() -> None:
    # Given: two calls in flight at a time, the first fails at once, the second blocks until released
    started: list[int] = []
    release = threading.Event()

    def work(item: int) -> int:
        started.append(item)
        if item == 0:
            raise ValueError("item 0")
        release.wait(5)
        return item

    # When
    timer = threading.Timer(0.2, release.set)
    timer.start()
    with pytest.raises(ValueError, match="item 0"):
        map_in_order(work, list(range(10)), concurrency=2)
    timer.cancel()

    # Then: calls start in order; only those already taken by a thread ran (two, or three when the failed
    # call's thread took the next one before the failure was seen)
    assert sorted(started) in ([0, 1], [0, 1, 2])


def test_results_come_back_in_item_order() -> None:
    def work(item: int) -> int:
        time.sleep(0.01 * (5 - item))
        return item * 10

    assert map_in_order(work, list(range(5)), concurrency=5) == [0, 10, 20, 30, 40]
