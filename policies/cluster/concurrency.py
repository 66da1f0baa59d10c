"""Bounded concurrency for the requests of one plan or apply.

An apply sends one dry run and at most one write per object; one after the other, a 300-object
policy spends most of its time waiting for round trips. Sending up to ``REQUESTS_IN_FLIGHT`` at
once keeps the API server busy without flooding it (its own defaults admit far more: 400 requests
and 200 writes in flight). The work runs on threads over the one thread-safe connection pool of
the client; each call runs in a copy of the caller's context, so log lines keep the request id.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import TypeVar

REQUESTS_IN_FLIGHT = 16
"""Default bound on concurrent requests to one API server (the transport's connection pool holds as many)."""

Item = TypeVar("Item")
Result = TypeVar("Result")


@contextmanager
def request_pool(concurrency: int) -> Iterator[ThreadPoolExecutor]:
    """Threads for at most ``concurrency`` requests in flight; calls not yet started are dropped on exit."""
    pool = ThreadPoolExecutor(max_workers=max(concurrency, 1), thread_name_prefix="cluster-request")
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def submit(pool: ThreadPoolExecutor, work: Callable[..., Result], *args: object) -> Future[Result]:
    """``pool.submit`` in a copy of the caller's context (logging's request id, for one)."""
    return pool.submit(contextvars.copy_context().run, work, *args)


def map_in_order(work: Callable[[Item], Result], items: Sequence[Item], *, concurrency: int) -> list[Result]:
    """``[work(item) for item in items]`` with up to ``concurrency`` calls in flight.

    Args:
        work: one request (or a few) per item.
        items: the inputs; the results come back in the same order.
        concurrency: the bound; 1 runs the calls one after the other on this thread.

    Raises:
        Exception: the exception of the first item (in order) whose call raised, as a one-by-one run would
            raise; the calls not started yet are not run, those in flight are finished first.
    """
    if concurrency <= 1 or len(items) <= 1:
        return [work(item) for item in items]
    with request_pool(min(concurrency, len(items))) as pool:
        futures = [submit(pool, work, item) for item in items]
        _, pending = wait(futures, return_when=FIRST_EXCEPTION)
        if pending:  # NB: a call failed; started calls cannot be stopped, so let them end and compare.
            for future in futures:
                future.cancel()
            wait(pending)
        # NB: calls start in order, so every item before the first failing one has run: the earliest
        # failure in order is the one a one-by-one run would have raised, whichever finished first.
        error = next((e for f in futures if not f.cancelled() and (e := f.exception()) is not None), None)
        if error is not None:
            raise error
        return [future.result() for future in futures]
