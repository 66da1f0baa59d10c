"""The live preview behind the policy editor: a work-in-progress document in, everything to show out.

The editor sends its whole state on every (debounced) change, either as plain data from the
form or as the YAML text being typed. Work in progress is often invalid, so nothing here raises
for bad input: the preview always answers with the CR as YAML, every finding (pinned to a YAML
line and to a JSON path the form maps to an input), the hop line of every to-entry and, when the
policy has no errors, the Istio objects it becomes. Both editor tabs read the same answer, which
is why switching between Form and YAML loses nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from policies.core.document import parse_policy_text, policy_to_data
from policies.core.expansion import ExpansionError, expand_policy
from policies.core.findings import Finding, Severity, has_errors
from policies.core.gateway import GatewayDescription
from policies.core.model import EgressPolicy
from policies.core.validation import check_parsed_policy, check_policy_data
from policies.core.yamlio import YamlLoadError, load_one
from policies.fastyaml import dump_with_lines, line_of
from policies.presenters import HopLine, hop_lines
from policies.services import require_answerable, require_readable_text, translation_settings


@dataclass
class Preview:
    """What the editor shows for one state of a document."""

    data: Any
    cr_yaml: str
    findings: list[Finding]
    objects: list[dict[str, Any]] = field(default_factory=list)
    hops: dict[str, HopLine] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when nothing blocks saving."""
        return not has_errors(self.findings)


def preview_data(data: Any, gateway: GatewayDescription) -> Preview:
    """Preview plain data from the form (canonical YAML once the shape is right); ``PolicyTooLarge`` if too big."""
    require_answerable(data)
    parsed = check_policy_data(data, gateway, translation_settings())
    cr_yaml, lines = dump_with_lines(policy_to_data(parsed.policy) if parsed.policy is not None else data)
    findings = _pin_to_lines(parsed.findings, cr_yaml, lines)
    return _finish(parsed.policy, data, cr_yaml, findings, gateway)


def preview_text(text: str, gateway: GatewayDescription) -> Preview:
    """Preview YAML text from the editor; the text is kept exactly as typed. ``PolicyTooLarge`` if too big."""
    require_readable_text(text)
    parsed = parse_policy_text(text)
    if parsed.document is not None:
        require_answerable(parsed.document.data)
    parsed = check_parsed_policy(parsed, gateway, translation_settings())
    data = parsed.document.data if parsed.document is not None else None
    return _finish(parsed.policy, data, text, parsed.findings, gateway)


def _finish(
    policy: EgressPolicy | None, data: Any, cr_yaml: str, findings: list[Finding], gateway: GatewayDescription
) -> Preview:
    preview = Preview(data=data, cr_yaml=cr_yaml, findings=findings)
    if policy is None:
        return preview
    preview.hops = _without_errors(hop_lines(policy, gateway, translation_settings()), findings)
    if preview.ok:
        try:
            preview.objects = expand_policy(policy, gateway, translation_settings())
        except ExpansionError as exc:
            # NB: validation should have caught it; show it like any finding rather than fail the preview.
            preview.findings.append(exc.as_finding().with_line(_line_in(cr_yaml, exc.path)))
    return preview


def _without_errors(hops: dict[str, HopLine], findings: list[Finding]) -> dict[str, HopLine]:
    """Hop lines of the to-entries without errors: a route through port 70000 would be shown as if it could exist."""
    broken = {match.group(0) for f in findings if f.severity is Severity.ERROR and (match := _TARGET.match(f.path))}
    return {path: line for path, line in hops.items() if path not in broken}


_TARGET = re.compile(r"spec\.egressRules\[\d+\]\.to\[\d+\]")


def _line_in(cr_yaml: str, path: str) -> int | None:
    try:
        return load_one(cr_yaml).line_of(path)
    except YamlLoadError:
        return None


def _pin_to_lines(findings: list[Finding], cr_yaml: str, lines: dict[str, int]) -> list[Finding]:
    """Give findings about form data the line they have in the YAML the YAML tab will show."""
    if not findings:
        return findings
    if lines:
        return [f.with_line(line_of(lines, f.path)) for f in findings]
    try:
        document = load_one(cr_yaml)
    except YamlLoadError:
        return findings
    return [f.with_line(document.line_of(f.path)) for f in findings]
