"""The review workflow as data: states, transitions, who may take each, and separation of duties.

A policy change travels draft → in_review (the draft frozen as a revision) → approved | rejected
| withdrawn | superseded, and an approved revision → applied | failed on each cluster. The table
``TRANSITIONS`` is the whole rule set: every entry point (console, API, Django admin, CLI) asks
``decide`` and nothing else, so the rules are read, reviewed and unit-tested here, without Django.
Permissions are Django-style names (``policies.approve_review``) held as plain strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


class ReviewState(StrEnum):
    """Where a review stands."""

    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    SUPERSEDED = "superseded"
    APPLIED = "applied"
    FAILED = "failed"


class ReviewAction(StrEnum):
    """What a user (or the apply job, for ``fail``) does to a review."""

    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    SUPERSEDE = "supersede"
    APPLY = "apply"
    FAIL = "fail"


class Role(StrEnum):
    """The console's roles, created as Django groups of the same name."""

    VIEWER = "viewer"
    EDITOR = "editor"
    APPROVER = "approver"
    OPERATOR = "operator"
    ADMIN = "admin"


OPEN_STATES = frozenset({ReviewState.IN_REVIEW})
"""At most one review per policy is in these states (a database constraint holds it)."""

LIVE_STATES = frozenset({ReviewState.IN_REVIEW, ReviewState.APPROVED, ReviewState.FAILED})
"""States a newer submission supersedes: an approved revision not yet applied everywhere is replaced."""


@dataclass(frozen=True)
class Transition:
    """One allowed move: from ``source`` by ``action``, needing ``permission``.

    ``own_only`` transitions are for the review's submitter; ``others_permission`` lets a role
    take them on someone else's review. ``separation_of_duties`` refuses anyone who authored or
    edited the revision. ``target`` is where the review goes once the action is complete
    (approvals may need several distinct approvers before the state moves).
    """

    source: ReviewState | None
    action: ReviewAction
    target: ReviewState
    permission: str
    own_only: bool = False
    others_permission: str = ""
    separation_of_duties: bool = False


PERMISSIONS: Mapping[str, str] = {
    "policies.submit_review": "Can submit a policy draft for review",
    "policies.withdraw_review": "Can withdraw own review",
    "policies.withdraw_any_review": "Can withdraw anyone's review",
    "policies.approve_review": "Can approve or reject a review",
    "policies.apply_review": "Can apply an approved revision (or dry-run it)",
}
"""The custom permissions of the workflow (codename → description), declared on the Review model."""

TRANSITIONS: tuple[Transition, ...] = (
    Transition(None, ReviewAction.SUBMIT, ReviewState.IN_REVIEW, "policies.submit_review"),
    Transition(
        ReviewState.IN_REVIEW,
        ReviewAction.APPROVE,
        ReviewState.APPROVED,
        "policies.approve_review",
        separation_of_duties=True,
    ),
    Transition(ReviewState.IN_REVIEW, ReviewAction.REJECT, ReviewState.REJECTED, "policies.approve_review"),
    Transition(
        ReviewState.IN_REVIEW,
        ReviewAction.WITHDRAW,
        ReviewState.WITHDRAWN,
        "policies.withdraw_review",
        own_only=True,
        others_permission="policies.withdraw_any_review",
    ),
    Transition(
        ReviewState.APPROVED,
        ReviewAction.WITHDRAW,
        ReviewState.WITHDRAWN,
        "policies.withdraw_review",
        own_only=True,
        others_permission="policies.withdraw_any_review",
    ),
    *(
        Transition(state, ReviewAction.SUPERSEDE, ReviewState.SUPERSEDED, "policies.submit_review")
        for state in sorted(LIVE_STATES)
    ),
    *(
        Transition(state, action, target, "policies.apply_review")
        for state in (ReviewState.APPROVED, ReviewState.APPLIED, ReviewState.FAILED)
        for action, target in ((ReviewAction.APPLY, ReviewState.APPLIED), (ReviewAction.FAIL, ReviewState.FAILED))
    ),
)

_VIEW = ("policies.view_egressgateway", "policies.view_egresspolicy", "policies.view_policyrevision")
_READ = (
    *_VIEW,
    "policies.view_review",
    "policies.view_approval",
    "policies.view_deployment",
    "policies.view_auditentry",
    "policies.view_cluster",
    "policies.view_observedflow",
    "policies.view_observationupload",
)
_EDIT = (
    "policies.add_egresspolicy",
    "policies.change_egresspolicy",
    "policies.delete_egresspolicy",
    "policies.view_policydraft",
    "policies.change_policydraft",
    "policies.submit_review",
    "policies.withdraw_review",
    "policies.add_observedflow",
)

ROLE_PERMISSIONS: Mapping[Role, tuple[str, ...]] = {
    Role.VIEWER: _READ,
    Role.EDITOR: (*_READ, *_EDIT),
    Role.APPROVER: (*_READ, "policies.approve_review", "policies.change_review"),
    Role.OPERATOR: (
        *_READ,
        "policies.apply_review",
        "policies.view_applyrecord",
        "policies.check_cluster",
        "policies.view_applyjob",
    ),
    Role.ADMIN: (
        *_READ,
        *_EDIT,
        "policies.approve_review",
        "policies.change_review",
        "policies.apply_review",
        "policies.view_applyrecord",
        "policies.withdraw_any_review",
        "policies.check_cluster",
        "policies.delete_observedflow",
        "policies.view_applyjob",
        "policies.view_webhookdelivery",
        "policies.change_webhookdelivery",
        *(f"policies.{verb}_{model}" for verb in ("add", "change", "delete") for model in ("egressgateway", "cluster")),
        *(f"auth.{verb}_{model}" for verb in ("view", "add", "change", "delete") for model in ("user", "group")),
    ),
}
"""What each role's group holds (Django ``app_label.codename`` names)."""


class TransitionRefused(Exception):
    """The workflow refuses an action; ``code`` is stable, ``status`` is the HTTP answer it maps to."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Actor:
    """Who acts: a user id and the permissions they hold (``app.codename``), superusers hold all."""

    user_id: int | None
    permissions: frozenset[str]
    superuser: bool = False

    def may(self, permission: str) -> bool:
        """Whether the actor holds ``permission``."""
        return self.superuser or permission in self.permissions


@dataclass(frozen=True)
class ReviewFacts:
    """What the rules read about a review: its state, submitter, contributors and approvers so far."""

    state: ReviewState | None
    submitter: int | None
    contributors: frozenset[int]
    approvers: frozenset[int] = frozenset()


def transition_for(state: ReviewState | None, action: ReviewAction) -> Transition | None:
    """The table's entry for ``action`` from ``state``, or None when the move is not allowed."""
    return next((t for t in TRANSITIONS if t.source == state and t.action == action), None)


def decide(action: ReviewAction, facts: ReviewFacts, actor: Actor, *, required_approvals: int = 1) -> ReviewState:
    """The review's state after ``actor`` takes ``action``, or ``TransitionRefused`` saying why not.

    Args:
        action: what the actor does.
        facts: the review as it stands (``state`` None for a new submission).
        actor: who acts, with their permissions.
        required_approvals: distinct approvals needed before an approval moves the review to approved.

    Returns:
        The new state (an approval short of the required count leaves it ``in_review``).
    """
    transition = _permitted(action, facts, actor)
    if transition.separation_of_duties and actor.user_id in facts.contributors | {facts.submitter}:
        raise TransitionRefused(
            "SELF_APPROVAL", 403, "You authored or edited this revision; someone else must approve it."
        )
    if action is ReviewAction.APPROVE:
        if actor.user_id in facts.approvers:
            raise TransitionRefused("ALREADY_APPROVED", 409, "You have already approved this review.")
        if len(facts.approvers) + 1 < max(required_approvals, 1):
            return ReviewState.IN_REVIEW
    return transition.target


def _permitted(action: ReviewAction, facts: ReviewFacts, actor: Actor) -> Transition:
    transition = transition_for(facts.state, action)
    if transition is None:
        state = facts.state.value if facts.state else "new"
        raise TransitionRefused(
            "INVALID_TRANSITION", 409, f"A review that is {state} cannot be {_past(action)}; it is closed to that."
        )
    if not actor.may(transition.permission):
        raise TransitionRefused("permission_denied", 403, f"Your role may not {action.value} reviews.")
    own = actor.user_id is not None and actor.user_id == facts.submitter
    if transition.own_only and not own and not actor.may(transition.others_permission):
        raise TransitionRefused("NOT_SUBMITTER", 403, f"Only the submitter may {action.value} this review.")
    return transition


_PAST = {
    ReviewAction.SUBMIT: "submitted",
    ReviewAction.APPROVE: "approved",
    ReviewAction.REJECT: "rejected",
    ReviewAction.WITHDRAW: "withdrawn",
    ReviewAction.SUPERSEDE: "superseded",
    ReviewAction.APPLY: "applied",
    ReviewAction.FAIL: "marked failed",
}


def _past(action: ReviewAction) -> str:
    return _PAST[action]


def allowed_actions(facts: ReviewFacts, actor: Actor, *, required_approvals: int = 1) -> list[ReviewAction]:
    """Every action ``actor`` may take on the review now (what a page offers as buttons)."""
    allowed = []
    for action in ReviewAction:
        try:
            decide(action, facts, actor, required_approvals=required_approvals)
        except TransitionRefused:
            continue
        allowed.append(action)
    return allowed
