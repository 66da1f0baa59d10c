"""The one error the expansion raises, with a stable code and the field path it is about.

The expansion trusts its caller to have validated the policy (spec §6), but it must never turn
an incomplete or contradictory policy into a half-right set of Istio objects: a missing port or
an overlapping host list would silently open or close traffic. Such input stops the expansion
with an ``ExpansionError`` instead, which the web and CLI layers show like a finding.
"""

from __future__ import annotations

from typing import Any

from policies.core.findings import Finding, Severity

MISSING_FIELD = "EGRESS-X01"
OVERLAPPING_HOSTS = "EGRESS-X02"
DUPLICATE_PORT_IN_GROUP = "EGRESS-X03"
SHARED_GATEWAY_PORT_IN_GROUP = "EGRESS-X04"
UPGRADE_NOT_HTTP = "EGRESS-X05"
NO_GATEWAY_PORT = "EGRESS-X06"
UNSUPPORTED_PROTOCOL = "EGRESS-X07"
DUPLICATE_TARGET_NAME = "EGRESS-X08"


class ExpansionError(Exception):
    """The policy cannot be expanded into Istio objects; nothing was produced."""

    def __init__(self, code: str, path: str, template: str, **params: Any) -> None:
        self.code = code
        self.path = path
        self.template = template
        self.params = params
        super().__init__(f"{code} at {path or '(document)'}: {self.message}")

    @property
    def message(self) -> str:
        """The error in English."""
        return self.template.format(**self.params)

    def as_finding(self) -> Finding:
        """The error as a blocking finding, for the editor's findings list."""
        return Finding(self.code, Severity.ERROR, self.path, self.template, self.params)
