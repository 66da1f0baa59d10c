"""Two operators applying at once, on the suite's PostgreSQL: exactly one job runs, the other is told.

Each operator is a thread with its own database connection; a barrier releases both into
``jobs.start_apply`` together. The partial unique index on active applies (per policy and cluster)
decides, whatever the timing: one job is queued, the other request is refused with 409
``APPLY_RUNNING`` naming it, and nothing of the refused request is left behind.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from policies import jobs
from policies.core.review import Role
from policies.models import ApplyJob, ApplyJobCluster, Review
from tests.fixtures.reviews import user_in_role

# NB: no serialized_rollback: its teardown leaves auth_permission empty for the next transactional test;
# user_in_role re-creates the role groups a flush empties.
pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _require_postgres() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run through `make test`, which starts one")


def apply_in_thread(review_id: int, user_id: int, clusters: list[str], outcomes: list[Any], barrier: Any) -> None:
    """Start an apply in this thread's own connection; record the job id or the refusal."""
    try:
        review = Review.objects.get(pk=review_id)
        user = type(review.author).objects.get(pk=user_id)
        chosen = jobs.resolve_clusters(clusters)
        barrier.wait(timeout=10)
        outcomes.append(("started", jobs.start_apply(review, chosen, target="istio", dry_run=False, user=user).pk))
    except jobs.ApplyRunning as exc:
        outcomes.append((exc.code, exc.job_id))
    finally:
        connections.close_all()


@pytest.mark.parametrize("rounds", range(5))
def test_two_operators_applying_at_once_one_runs_the_other_is_told(
    approved_review: Review, fake_clusters: Any, database_tasks: None, rounds: int
) -> None:
    first, second = user_in_role(Role.OPERATOR.value, "op-1"), user_in_role(Role.OPERATOR.value, "op-2")
    outcomes: list[Any] = []
    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(target=apply_in_thread, args=(approved_review.pk, user.pk, names, outcomes, barrier))
        for user, names in ((first, ["a", "b"]), (second, ["c", "b"]))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    job = ApplyJob.objects.get()
    assert sorted(outcomes) == [("APPLY_RUNNING", job.pk), ("started", job.pk)]
    assert ApplyJobCluster.objects.filter(state="queued").count() == len(job.clusters.all())
