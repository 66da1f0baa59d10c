"""The console project's own table: the API throttles' request counters.

Counters live in the database, not in a process, so that every replica and every worker of the
console counts one client's requests together (issue 12, item 3).
"""

from __future__ import annotations

from django.db import models


class RateWindow(models.Model):
    """How many requests one client sent in the current fixed window of its throttle."""

    client = models.CharField(max_length=200, primary_key=True, help_text="Throttle scope and client id.")
    period = models.BigIntegerField(help_text="The window's number: seconds since the epoch // window length.")
    count = models.PositiveIntegerField(help_text="Requests counted in that window.")

    def __str__(self) -> str:
        return f"{self.client}: {self.count} in window {self.period}"
