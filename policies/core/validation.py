"""Semantic validation of ASMEgressTrafficPolicy objects (spec §6, offline rules).

Public API (stable; the web, API and CLI layers call only these):

- ``validate_policy(policy, gateway=None, settings=None) -> list[Finding]``
- ``check_policy_text(raw, gateway=None, settings=None) -> ParsedPolicy`` (parse + validate,
  every finding pinned to its source line)
- ``check_policy_data(data, gateway=None, settings=None) -> ParsedPolicy``
"""

from __future__ import annotations

from typing import Any

from policies.core.document import ParsedPolicy, parse_policy_data, parse_policy_text
from policies.core.findings import Finding, Severity
from policies.core.gateway import GatewayDescription, TranslationSettings, seed_gateway
from policies.core.i18n import _
from policies.core.model import API_VERSIONS, KIND, EgressPolicy


def validate_policy(
    policy: EgressPolicy,
    gateway: GatewayDescription | None = None,
    settings: TranslationSettings | None = None,
) -> list[Finding]:
    """Every offline finding for ``policy``, all at once, in document order."""
    gateway = gateway or seed_gateway(policy.gateway_name or "egressgateway")
    settings = settings or TranslationSettings()
    findings: list[Finding] = []
    if policy.apiVersion not in API_VERSIONS:
        findings.append(
            Finding(
                "EGRESS-V1", Severity.ERROR, "apiVersion",
                _("apiVersion is '{value}'; use istio.alibabacloud.com/v1 or istio.alibabacloud.com/v1beta1."),
                {"value": policy.apiVersion},
            )
        )
    if policy.kind != KIND:
        findings.append(
            Finding("EGRESS-V1", Severity.ERROR, "kind", _("kind is '{value}'; use ASMEgressTrafficPolicy."),
                    {"value": policy.kind})
        )
    return findings


def check_policy_text(
    raw: bytes | str, gateway: GatewayDescription | None = None, settings: TranslationSettings | None = None
) -> ParsedPolicy:
    """Parse and validate text; findings carry source lines."""
    return _validated(parse_policy_text(raw), gateway, settings)


def check_policy_data(
    data: Any, gateway: GatewayDescription | None = None, settings: TranslationSettings | None = None
) -> ParsedPolicy:
    """Parse and validate plain data (e.g. a JSON body)."""
    return _validated(parse_policy_data(data), gateway, settings)


def _validated(
    parsed: ParsedPolicy, gateway: GatewayDescription | None, settings: TranslationSettings | None
) -> ParsedPolicy:
    if parsed.policy is None:
        return parsed
    findings = [f.with_line(parsed.line_of(f.path)) for f in validate_policy(parsed.policy, gateway, settings)]
    parsed.findings.extend(findings)
    return parsed
