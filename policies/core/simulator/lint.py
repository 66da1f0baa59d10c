"""Warnings about hand-written Istio objects whose effect on a real mesh differs from their look.

The simulator already follows Istio (a hop says when it does); these findings say it before any
request is simulated, at the field, for objects a user brings (``egress simulate FILE``).
"""

from __future__ import annotations

from typing import Any

from policies.core.findings import Finding, Severity
from policies.core.i18n import _

NETWORKING_GROUP = "networking.istio.io/"


def istio_object_findings(obj: Any) -> list[Finding]:
    """I01: an ``http`` match that lists gateways beside sourceNamespace/sourceLabels.

    Istio's ``sourceMatchHTTP`` (pilot/pkg/networking/core/route/route.go) keeps such a match for
    every proxy of a listed gateway and never reads its source fields, so the route selects no
    workload at all (TLS and TCP matches are not affected).
    """
    if not (isinstance(obj, dict) and obj.get("kind") == "VirtualService"):
        return []
    if not str(obj.get("apiVersion", "")).startswith(NETWORKING_GROUP):
        return []
    spec = obj.get("spec")
    routes = spec.get("http") if isinstance(spec, dict) else None
    findings = []
    for r, route in enumerate(routes if isinstance(routes, list) else []):
        matches = route.get("match") if isinstance(route, dict) else None
        for m, match in enumerate(matches if isinstance(matches, list) else []):
            if not isinstance(match, dict) or not match.get("gateways"):
                continue
            fields = [name for name in ("sourceNamespace", "sourceLabels") if match.get(name)]
            if fields:
                findings.append(
                    Finding(
                        "EGRESS-I01",
                        Severity.WARNING,
                        f"spec.http[{r}].match[{m}]",
                        _(
                            "This http match lists gateways, so Istio ignores its {fields}: every workload the "
                            "VirtualService is visible to takes this route. Remove the match's gateways (the "
                            "VirtualService's own gateways already bind it) to select workloads."
                        ),
                        {"fields": " and ".join(fields)},
                    )
                )
    return findings
