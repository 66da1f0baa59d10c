"""Validation findings: what is wrong, where, how bad, and under which stable code."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from policies.core.i18n import Translate, english


class Severity(StrEnum):
    """How a finding affects saving and applying: errors block, warnings and infos do not."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem (or notice) about one field of a policy.

    ``template`` is an English, translatable message with ``{placeholders}`` filled from
    ``params``; ``message`` renders it in English, ``render`` in any language.
    """

    code: str
    severity: Severity
    path: str
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    line: int | None = None

    @property
    def message(self) -> str:
        """The message in English."""
        return self.render(english)

    def render(self, translate: Translate) -> str:
        """The message in the language of ``translate`` (e.g. Django's gettext)."""
        return translate(self.template).format(**self.params)

    def with_line(self, line: int | None) -> Finding:
        """A copy pinned to a source line."""
        return replace(self, line=line)

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON-ready form: code, severity, path, message, line."""
        return {
            "code": self.code,
            "severity": self.severity.value,
            "path": self.path,
            "message": self.render(translate),
            "line": self.line,
        }


def has_errors(findings: list[Finding]) -> bool:
    """True when any finding blocks saving or applying."""
    return any(f.severity is Severity.ERROR for f in findings)


def json_path(parts: tuple[str | int, ...] | list[str | int]) -> str:
    """``("spec", "egressRules", 0, "to")`` → ``spec.egressRules[0].to``."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out
