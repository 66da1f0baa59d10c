"""What ``propose_policy`` answers: the policy, the flows it covers, notes and skipped flows.

Every note and skip carries a stable ``EGRESS-DISC..`` code and a translatable sentence, so the
console, the API and the CLI explain a proposal alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from policies.core.discovery.flows import Flow
from policies.core.document import policy_to_data
from policies.core.findings import Finding
from policies.core.i18n import Translate, english
from policies.core.model import EgressPolicy

TCP_BY_ADDRESS = "EGRESS-DISC01"
INVALID_HOST = "EGRESS-DISC02"
RESERVED_PORT = "EGRESS-DISC03"
PROTOCOL_CONFLICT = "EGRESS-DISC04"
SHARED_HOST_ENTRY = "EGRESS-DISC05"
NO_GATEWAY_PORT = "EGRESS-DISC06"
HTTPS_UPGRADE = "EGRESS-DISC10"
BROADENED = "EGRESS-DISC11"
SPLIT_RULE = "EGRESS-DISC12"
EXTENDED_ENTRY = "EGRESS-DISC13"
PROPOSAL_INVALID = "EGRESS-DISC20"


@dataclass(frozen=True, slots=True)
class ProposalNote:
    """Why the proposal looks as it does, or why a flow was left out: a stable code and a sentence."""

    code: str
    template: str
    params: tuple[tuple[str, Any], ...] = ()

    def render(self, translate: Translate = english) -> str:
        """The sentence in the language of ``translate``."""
        return translate(self.template).format(**dict(self.params))

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON contract: code, message."""
        return {"code": self.code, "message": self.render(translate)}


def note(code: str, template: str, **params: Any) -> ProposalNote:
    """A ``ProposalNote`` from a template marked with ``_`` and its params."""
    return ProposalNote(code, template, tuple(params.items()))


@dataclass(frozen=True, slots=True)
class SkippedFlow:
    """A selected flow the proposal does not allow, and why."""

    flow: Flow
    why: ProposalNote

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON contract: flow, code, message."""
        return {"flow": self.flow.as_dict(), **self.why.as_dict(translate)}


@dataclass(frozen=True)
class Proposal:
    """The proposed policy, which flows it newly allows, which the base allowed already, and notes.

    ``policy`` is None when there is no base draft and not one flow can be allowed (a policy
    needs at least one rule); ``skipped`` then says why.
    """

    policy: EgressPolicy | None
    covered: list[Flow]
    already_allowed: list[Flow]
    skipped: list[SkippedFlow]
    notes: list[ProposalNote]

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON contract: policy (plain data), covered, alreadyAllowed (counts), skipped, notes."""
        return {
            "policy": policy_to_data(self.policy) if self.policy is not None else None,
            "covered": len(self.covered),
            "alreadyAllowed": len(self.already_allowed),
            "skipped": [item.as_dict(translate) for item in self.skipped],
            "notes": [item.as_dict(translate) for item in self.notes],
        }


class ProposalError(ValueError):
    """The base draft cannot be simulated, or (a bug) the proposal would not validate; with findings."""

    def __init__(self, message: str, findings: Sequence[Finding] = ()) -> None:
        self.code = PROPOSAL_INVALID
        self.findings = list(findings)
        super().__init__(message)
