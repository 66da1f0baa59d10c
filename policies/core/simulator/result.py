"""The simulator's answer: what the client sees, what the external server receives, and why.

``as_dict`` is the CLI/API contract (keys status, upstream, body, hops, reason), so the shape
lives in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RESET = "reset"
RBAC_DENIED_BODY = "RBAC: access denied"
EXTERNAL_STATUS = 200


@dataclass(frozen=True, slots=True)
class Outcome:
    """The end of a path through the mesh (a result without its hops)."""

    status: int | str
    reason: str
    upstream: str | None = None
    body: str | None = None

    @property
    def is_reset(self) -> bool:
        """The client got no HTTP response at all."""
        return self.status == RESET


@dataclass(frozen=True, slots=True)
class SimulationResult:
    """What one request gets.

    Attributes:
        status: HTTP status the client sees (200, 502, 403, ...) or ``"reset"`` for no response.
        upstream: ``scheme://host:port/path`` as the external server receives it, or None.
        body: Response body worth showing (``RBAC: access denied``, a direct-response body), else None.
        hops: Each proxy decision in order (client sidecar, gateway, upstream cluster).
        reason: One sentence explaining the status.
    """

    status: int | str
    upstream: str | None
    body: str | None
    hops: list[str] = field(default_factory=list)
    reason: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The JSON contract: exactly status, upstream, body, hops, reason."""
        return {
            "status": self.status,
            "upstream": self.upstream,
            "body": self.body,
            "hops": list(self.hops),
            "reason": self.reason,
        }


class Trace:
    """Collects hop descriptions while a request walks the mesh."""

    __slots__ = ("hops",)

    def __init__(self) -> None:
        self.hops: list[str] = []

    def add(self, text: str) -> None:
        """Record one proxy decision."""
        self.hops.append(text)

    def result(self, outcome: Outcome) -> SimulationResult:
        """Freeze the outcome together with the hops recorded so far."""
        return SimulationResult(outcome.status, outcome.upstream, outcome.body, self.hops, outcome.reason)
