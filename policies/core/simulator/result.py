"""The simulator's answer: what the client sees, what the external server receives, and why.

``as_dict`` is the CLI/API contract (keys status, upstream, body, hops, reason), so the shape
lives in one place. Reasons and hops are kept as ``Text`` (an English template marked with ``_``
plus params, like a validation finding) so the console can render them in the user's language
while the CLI and API keep English; Envoy and object names stay verbatim in the params.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from policies.core.i18n import Translate, english

RESET = "reset"
RBAC_DENIED_BODY = "RBAC: access denied"
EXTERNAL_STATUS = 200


@dataclass(frozen=True, slots=True)
class Text:
    """A translatable sentence: ``template`` (English, ``{placeholders}``) filled from ``params``.

    A param may itself be a ``Text``; it is rendered in the same language first.
    """

    template: str
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, translate: Translate = english) -> str:
        """The sentence in the language of ``translate`` (e.g. Django's gettext)."""
        values = {key: _rendered(value, translate) for key, value in self.params.items()}
        return translate(self.template).format(**values)

    def __str__(self) -> str:
        return self.render(english)


def text(template: str, **params: Any) -> Text:
    """``Text`` from a template marked with ``_`` and its params."""
    return Text(template, params)


def _rendered(value: Any, translate: Translate) -> Any:
    return value.render(translate) if isinstance(value, Text) else value


@dataclass(frozen=True, slots=True)
class Outcome:
    """The end of a path through the mesh (a result without its hops)."""

    status: int | str
    reason: Text
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
        hop_texts: Each proxy decision in order (client sidecar, gateway, upstream cluster).
        reason_text: One sentence explaining the status.
    """

    status: int | str
    upstream: str | None
    body: str | None
    hop_texts: tuple[Text, ...] = ()
    reason_text: Text = field(default_factory=lambda: Text(""))

    @property
    def hops(self) -> list[str]:
        """The hops in English."""
        return [hop.render(english) for hop in self.hop_texts]

    @property
    def reason(self) -> str:
        """The reason in English."""
        return self.reason_text.render(english)

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """The JSON contract: exactly status, upstream, body, hops, reason (English unless ``translate``)."""
        return {
            "status": self.status,
            "upstream": self.upstream,
            "body": self.body,
            "hops": [hop.render(translate) for hop in self.hop_texts],
            "reason": self.reason_text.render(translate),
        }


class Trace:
    """Collects hop descriptions while a request walks the mesh."""

    __slots__ = ("hops",)

    def __init__(self) -> None:
        self.hops: list[Text] = []

    def add(self, hop: Text) -> None:
        """Record one proxy decision."""
        self.hops.append(hop)

    def result(self, outcome: Outcome) -> SimulationResult:
        """Freeze the outcome together with the hops recorded so far."""
        return SimulationResult(outcome.status, outcome.upstream, outcome.body, tuple(self.hops), outcome.reason)
