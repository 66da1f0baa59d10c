"""Is this object an ASMEgressTrafficPolicy at all? (spec §6, V1, before the schema check).

A Deployment or a Gateway pasted by mistake would otherwise produce a screenful of "unknown
field" schema errors. When ``kind`` is wrong, one V1 error (plus one for ``apiVersion`` when
that is wrong too) says what the object is and what was expected.
"""

from __future__ import annotations

from typing import Any

from policies.core.findings import Finding
from policies.core.i18n import _
from policies.core.model import API_VERSIONS, KIND
from policies.core.validation_context import error


def identity_findings(data: Any) -> list[Finding]:
    """V1 errors when ``data`` is a mapping whose ``kind`` is not ASMEgressTrafficPolicy; else none."""
    if not isinstance(data, dict) or data.get("kind") == KIND:
        return []
    findings = [
        error(
            "V1",
            "kind",
            _("kind is '{value}'; this is not an ASMEgressTrafficPolicy, use kind ASMEgressTrafficPolicy."),
            value=str(data.get("kind", "")),
        )
    ]
    if data.get("apiVersion") not in API_VERSIONS:
        findings.insert(
            0,
            error(
                "V1",
                "apiVersion",
                _("apiVersion is '{value}'; use istio.alibabacloud.com/v1 or istio.alibabacloud.com/v1beta1."),
                value=str(data.get("apiVersion", "")),
            ),
        )
    return findings
