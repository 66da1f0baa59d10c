"""API throttles whose counters live in the database, shared by every replica and worker.

DRF's throttles keep each client's request history in Django's cache, which is per process unless
a shared cache is configured, and read-then-write. These count in fixed windows with one atomic
upsert per request (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, on PostgreSQL and SQLite
alike), so the limit holds for all replicas together, not once per process. A refused request
is DRF's ``Throttled``: 429 in the API's error shape with ``Retry-After``.
"""

from __future__ import annotations

import math
import random
import time
from typing import Any

from django.db import connection
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, SimpleRateThrottle, UserRateThrottle

from console.models import RateWindow

TABLE = RateWindow._meta.db_table  # NB: the SQL below names it literally; test_throttling checks they agree
# NB: "period" is compared with the stored row's, so a client's first request of a new window restarts at 1.
UPSERT = (
    "INSERT INTO console_ratewindow (client, period, count) VALUES (%s, %s, 1) "
    "ON CONFLICT (client) DO UPDATE SET "
    "count = CASE WHEN console_ratewindow.period = excluded.period THEN console_ratewindow.count + 1 ELSE 1 END, "
    "period = excluded.period RETURNING count"
)
PRUNE = "DELETE FROM console_ratewindow WHERE period < %s"
PRUNE_EVERY = 1000  # NB: about one request in this many deletes the windows that ended


def count_request(client: str, period: int) -> int:
    """Count one request of ``client`` in window ``period``; the window's count including it."""
    with connection.cursor() as cursor:
        cursor.execute(UPSERT, [client, period])
        (count,) = cursor.fetchone()
        if random.randrange(PRUNE_EVERY) == 0:  # noqa: S311  NB: spreads the clean-up, no security role
            cursor.execute(PRUNE, [period - 1])
    return int(count)


class SharedWindowThrottle(SimpleRateThrottle):
    """Fixed-window counting in ``RateWindow`` instead of DRF's per-cache request history."""

    retry_after = 0.0

    def get_rate(self) -> str | None:
        # NB: read at each request, not at import as DRF does, so settings overrides take effect.
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope or "")
        return str(rate) if rate else None

    def allow_request(self, request: Any, view: Any) -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        limit, seconds = self.parse_rate(self.rate)
        client = self.get_cache_key(request, view)
        if client is None or limit is None or seconds is None:
            return True
        now = time.time()
        period = int(now // seconds)
        self.retry_after = (period + 1) * seconds - now
        return count_request(client[:200], period) <= limit

    def wait(self) -> float:
        return float(math.ceil(self.retry_after))  # NB: whole seconds: Retry-After never says 0 too early


class SharedAnonRateThrottle(SharedWindowThrottle, AnonRateThrottle):
    """Requests without credentials, per client address (rate ``anon``)."""


class SharedUserRateThrottle(SharedWindowThrottle, UserRateThrottle):
    """Requests of a signed-in user or token, per user (rate ``user``)."""
