"""Handing work to the task queue together with the transaction that asked for it.

With the database backend (production, ``make run``) the task's row is written inside the caller's
transaction: the job (or delivery) and its task are committed together or not at all, so no job
waits for a task that was never queued, and the worker cannot see the task before the rows it
reads. A backend that runs the task at once (the immediate one) is called after the commit
instead, so the task's own database connections see what the request wrote.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction


def enqueue_with_transaction(task: Any, *args: Any) -> None:
    """Enqueue ``task(*args)`` as part of the current transaction (see the module's docstring)."""
    from django_tasks_db.backend import DatabaseBackend

    if isinstance(task.get_backend(), DatabaseBackend):
        task.enqueue(*args)
    else:
        transaction.on_commit(lambda: task.enqueue(*args))
