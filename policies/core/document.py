"""Policy documents: text ⇄ ``EgressPolicy``, with every problem as a located finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from policies.core.findings import Finding, Severity, json_path
from policies.core.gcpause import paused_gc
from policies.core.i18n import _
from policies.core.model import EgressPolicy
from policies.core.yamlio import LoadedDocument, YamlLoadError, dump_yaml, load_one

SCHEMA_CODE = "EGRESS-S01"
UNKNOWN_FIELD_CODE = "EGRESS-S02"


@dataclass
class ParsedPolicy:
    """The outcome of reading one policy: the model (when the shape allows one) and findings."""

    policy: EgressPolicy | None
    findings: list[Finding] = field(default_factory=list)
    document: LoadedDocument | None = None

    def line_of(self, path: str) -> int | None:
        """Source line for a JSON path, when the text had one."""
        return self.document.line_of(path) if self.document else None


def parse_policy_text(raw: bytes | str) -> ParsedPolicy:
    """Read one policy from YAML or JSON text; never raises for bad input."""
    try:
        document = load_one(raw)
    except YamlLoadError as exc:
        return ParsedPolicy(None, [load_error_finding(exc)])
    return parse_policy_data(document.data, document)


def parse_policy_data(data: Any, document: LoadedDocument | None = None) -> ParsedPolicy:
    """Build the model from plain data (e.g. a JSON request body)."""
    try:
        policy = EgressPolicy.model_validate(data)
    except ValidationError as exc:
        findings = [_schema_finding(err) for err in exc.errors()]
        if document:
            findings = [f.with_line(document.line_of(f.path)) for f in findings]
        return ParsedPolicy(None, findings, document)
    return ParsedPolicy(policy, [], document)


def load_error_finding(exc: YamlLoadError) -> Finding:
    """A document-level finding for text that is not readable YAML."""
    return Finding(exc.code, Severity.ERROR, exc.path, exc.template, exc.params, exc.line)


def _schema_finding(error: Any) -> Finding:
    location = tuple(part for part in error["loc"] if part != "__root__")
    path = json_path(location)
    if error["type"] == "extra_forbidden":
        return Finding(
            UNKNOWN_FIELD_CODE,
            Severity.ERROR,
            path,
            _("Unknown field '{field}': the {kind} schema has no such field; remove it or check its spelling."),
            {"field": location[-1] if location else "", "kind": "ASMEgressTrafficPolicy"},
        )
    return Finding(
        SCHEMA_CODE,
        Severity.ERROR,
        path,
        _("Wrong type at {path}: {problem} (got {value})."),
        {"path": path or "document", "problem": error["msg"], "value": _short_repr(error.get("input"))},
    )


def _short_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def policy_to_data(policy: EgressPolicy) -> dict[str, Any]:
    """Canonical plain data: seed key order, no nulls, no status (V27: status is read-only)."""
    return policy.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"status"})


def dump_policy(policy: EgressPolicy) -> str:
    """Canonical YAML of a policy (stable key order, round-trips exactly)."""
    with paused_gc():  # NB: keeps dump time linear in the policy size (see gcpause).
        return dump_yaml(policy_to_data(policy))
