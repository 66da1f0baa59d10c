"""How big a policy is, and which findings to show first when there are too many to show.

Every answer about a policy (validation, preview, expansion) grows with its sources and
destinations, so callers that must answer quickly bound that count before doing any work; and
a policy with thousands of problems is better served by its worst hundred than by megabytes.
"""

from __future__ import annotations

from typing import Any

from policies.core.findings import Finding, Severity
from policies.core.i18n import _

OMITTED_CODE = "EGRESS-E006"
_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def count_entries(data: Any) -> int:
    """Sources (``from``) plus destinations (``to``) over every rule of plain policy data; 0 if none are readable.

    Args:
        data: A policy as plain data, in any shape (it has not been validated yet).

    Returns:
        The number of list items under ``spec.egressRules[*].from`` and ``spec.egressRules[*].to``.
    """
    spec = data.get("spec") if isinstance(data, dict) else None
    rules = spec.get("egressRules") if isinstance(spec, dict) else None
    if not isinstance(rules, list):
        return 0
    return sum(
        len(entries)
        for rule in rules
        if isinstance(rule, dict)
        for entries in (rule.get("from"), rule.get("to"))
        if isinstance(entries, list)
    )


def capped(findings: list[Finding], limit: int) -> list[Finding]:
    """At most ``limit`` findings, the most severe, plus one ``EGRESS-E006`` finding counting the rest.

    Errors are kept first, then warnings, then infos; the kept ones stay in document order. The
    summary has the severity of the worst finding it stands for, so an API that lists only
    errors still says that errors were left out.

    Args:
        findings: Findings in document order.
        limit: How many to list.

    Returns:
        ``findings`` itself when it is short enough; else the kept findings and the summary.
    """
    if len(findings) <= limit:
        return findings
    ranked = sorted(range(len(findings)), key=lambda i: _RANK[findings[i].severity])
    kept, omitted = sorted(ranked[:limit]), [findings[i] for i in ranked[limit:]]
    summary = Finding(
        OMITTED_CODE,
        omitted[0].severity,
        "",
        _("{count} more findings are not listed; fix the listed ones and check again."),
        {"count": len(omitted)},
    )
    return [*(findings[i] for i in kept), summary]
