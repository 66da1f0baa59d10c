"""Workflow verbs of the review: submit, approve, reject, withdraw, restore a revision as the draft.

Every entry point (API, Django admin, console, CLI) calls these, and each asks the core's table
(``policies.core.review.decide``) whether the user may take the step, so the rules, separation
of duties included, are the same on every path. Each verb locks what it changes, writes its
audit entry in the same transaction, and raises a ``ServiceError`` with a stable code.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from policies import services, webhooks
from policies.audit import append_entry
from policies.core.document import dump_policy
from policies.core.model import EgressPolicy as PolicyModel
from policies.core.review import (
    LIVE_STATES,
    OPEN_STATES,
    Actor,
    ReviewAction,
    ReviewFacts,
    ReviewState,
    TransitionRefused,
    decide,
)
from policies.models import (
    Approval,
    Cluster,
    Deployment,
    DraftContributor,
    EgressPolicy,
    PolicyDraft,
    PolicyRevision,
    Review,
    content_hash,
)

MESSAGES = {
    "SELF_APPROVAL": lambda: _("You authored or edited this revision; someone else must approve it."),
    "ALREADY_APPROVED": lambda: _("You have already approved this review."),
    "permission_denied": lambda: _("Your role does not allow this step of the review."),
    "NOT_SUBMITTER": lambda: _("Only the submitter (or an admin) may withdraw this review."),
}


class ReviewRefused(services.ServiceError):
    """The workflow refuses the step; ``code`` and ``status`` come from the core's decision."""

    def __init__(self, refusal: TransitionRefused, review: Review | None = None) -> None:
        message = MESSAGES[refusal.code]() if refusal.code in MESSAGES else _closed_message(review)
        super().__init__(message)
        self.code = refusal.code
        self.status = refusal.status


def _closed_message(review: Review | None) -> str:
    state = review.get_state_display() if review is not None else ""
    return _("Review #%(id)s is %(state)s; that step is no longer possible.") % {
        "id": review.pk if review else "",
        "state": state,
    }


class ReviewOpen(services.ServiceError):
    """The policy already has an open review; a second submission waits until it is decided or withdrawn."""

    code = "REVIEW_OPEN"
    status = 409


def actor_of(user: Any) -> Actor:
    """The core's view of a Django user: id, permissions, superuser flag (inactive users hold nothing)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return Actor(None, frozenset())
    return Actor(user.pk, frozenset(user.get_all_permissions()), bool(user.is_superuser))


def facts_of(review: Review) -> ReviewFacts:
    """What the rules read about a stored review (prefetched decisions and contributors are used as they are)."""
    approvers = {d.user_id for d in review.decisions.all() if d.decision == Approval.Decision.APPROVE}
    return ReviewFacts(
        state=ReviewState(review.state),
        submitter=review.author_id,
        contributors=frozenset(user.pk for user in review.contributors.all()),
        approvers=frozenset(a for a in approvers if a is not None),
    )


def required_approvals() -> int:
    """Distinct approvals a review needs (``EGRESS_REQUIRED_APPROVALS``, at least 1)."""
    return max(int(getattr(settings, "EGRESS_REQUIRED_APPROVALS", 1)), 1)


def _decide(action: ReviewAction, facts: ReviewFacts, user: Any, review: Review | None = None) -> ReviewState:
    try:
        return decide(action, facts, actor_of(user), required_approvals=required_approvals())
    except TransitionRefused as refusal:
        raise ReviewRefused(refusal, review) from refusal


def submit_review(policy: EgressPolicy, *, user: Any, message: str = "") -> Review:
    """Freeze the draft as a revision and open a review of it; ``ReviewOpen`` (409) if one is open."""
    _decide(ReviewAction.SUBMIT, ReviewFacts(None, None, frozenset()), user)
    with transaction.atomic():
        PolicyDraft.objects.select_for_update().get(policy=policy)
        _refuse_if_open(policy)
        revision = services.commit_revision(policy, user=user, message=message or _("Submitted for review"))
        _supersede_live_reviews(policy, user)
        try:
            with transaction.atomic():
                review = Review.objects.create(
                    policy=policy,
                    revision=revision,
                    restores=_restored(revision),
                    author=services._user_or_none(user),
                    message=message,
                )
        except IntegrityError:
            _refuse_if_open(policy)  # NB: another process opened one between our check and our insert
            raise
        review.contributors.set(_contributors(policy, revision, user))
        append_entry(action="review.submit", user=user, policy=policy, revision=revision, comment=message)
        webhooks.state_changed(review, user=user)
    return review


def _refuse_if_open(policy: EgressPolicy) -> None:
    existing = Review.objects.filter(policy=policy, state=Review.State.IN_REVIEW).first()
    if existing is not None:
        raise ReviewOpen(
            _("Review #%(id)s of this policy (revision %(number)d) is still open; decide or withdraw it first.")
            % {"id": existing.pk, "number": existing.revision.number},
            path="review",
        )


def _supersede_live_reviews(policy: EgressPolicy, user: Any) -> None:
    live = [state.value for state in LIVE_STATES - OPEN_STATES]
    for review in Review.objects.select_for_update().filter(policy=policy, state__in=live):
        review.state = _decide(ReviewAction.SUPERSEDE, facts_of(review), user, review)
        review.save(update_fields=["state", "updated_at"])
        append_entry(action="review.supersede", user=user, policy=policy, revision=review.revision)
        webhooks.state_changed(review, user=user)


def _restored(revision: PolicyRevision) -> PolicyRevision | None:
    """The newest earlier revision with the same content, unless it is the one just before (a rollback)."""
    earlier = PolicyRevision.objects.filter(policy=revision.policy, number__lt=revision.number).order_by("-number")
    previous = earlier.first()
    if previous is None or previous.content_hash == revision.content_hash:
        return None
    return earlier.filter(content_hash=revision.content_hash).first()


def _contributors(policy: EgressPolicy, revision: PolicyRevision, user: Any) -> list[int]:
    ids = set(DraftContributor.objects.filter(policy=policy).values_list("user_id", flat=True))
    ids |= {pk for pk in (revision.author_id, getattr(user, "pk", None)) if pk is not None}
    return sorted(ids)


def approve_review(review: Review, *, user: Any, comment: str = "") -> Review:
    """Record ``user``'s approval; the review is approved once it has the required distinct approvals."""
    return _decide_review(review, ReviewAction.APPROVE, Approval.Decision.APPROVE, user=user, comment=comment)


def reject_review(review: Review, *, user: Any, comment: str = "") -> Review:
    """Reject the review; its revision can no longer be approved or applied."""
    return _decide_review(review, ReviewAction.REJECT, Approval.Decision.REJECT, user=user, comment=comment)


def withdraw_review(review: Review, *, user: Any, comment: str = "") -> Review:
    """Withdraw the review (its submitter, or an admin); the policy may then be submitted again."""
    return _decide_review(review, ReviewAction.WITHDRAW, Approval.Decision.WITHDRAW, user=user, comment=comment)


def _decide_review(review: Review, action: ReviewAction, decision: str, *, user: Any, comment: str) -> Review:
    with transaction.atomic():
        review = Review.objects.select_for_update().select_related("policy", "revision").get(pk=review.pk)
        state = _decide(action, facts_of(review), user, review)
        Approval.objects.create(review=review, user=services._user_or_none(user), decision=decision, comment=comment)
        review.state = state
        review.save(update_fields=["state", "updated_at"])
        if state == ReviewState.APPROVED:
            # NB: the approved content is vetted; later edits make their authors contributors again.
            DraftContributor.objects.filter(policy=review.policy, last_edit_at__lte=review.created_at).delete()
        append_entry(
            action=f"review.{action.value}",
            user=user,
            policy=review.policy,
            revision=review.revision,
            comment=comment,
            result={"state": state.value},
        )
        if state != ReviewState.IN_REVIEW:  # NB: an approval short of the required count changes nothing
            webhooks.state_changed(review, user=user)
    return review


def restore_revision(policy: EgressPolicy, number: int, *, user: Any) -> PolicyDraft:
    """Make revision ``number``'s content the draft; it then goes through review like any change."""
    _decide(ReviewAction.SUBMIT, ReviewFacts(None, None, frozenset()), user)
    revision = policy.revisions.filter(number=number).first()
    if revision is None:
        raise RevisionUnknown(
            _("Policy %(policy)s has no revision %(number)d.") % {"policy": policy.name, "number": number},
            path="number",
        )
    with transaction.atomic():
        version = PolicyDraft.objects.select_for_update().get(policy=policy).version
        draft = services.save_draft(policy, revision.document, expected_version=version, user=user)
        append_entry(action="revision.restore", user=user, policy=policy, revision=revision)
    return draft


class RevisionUnknown(services.ServiceError):
    """The policy has no revision of that number."""

    code = "not_found"
    status = 404


class RevisionChanged(services.ServiceError):
    """The frozen revision's content no longer matches its hash: it is not what was approved."""

    code = "REVISION_CHANGED"
    status = 409


def check_applicable(review: Review, cluster: Cluster, *, user: Any) -> None:
    """Refuse, before any cluster call, to apply anything but this review's approved, unchanged revision.

    ``ReviewRefused`` (403 without the operator's permission, 409 unless approved or already applied/failed
    on some cluster), ``RevisionChanged`` (409) when the stored revision no longer matches its hash.
    """
    _decide(ReviewAction.APPLY, _cluster_facts(review, cluster), user, review)
    revision = review.revision
    if content_hash(dump_policy(PolicyModel.model_validate(revision.document))) != revision.content_hash:
        raise RevisionChanged(
            _("Revision %(number)d no longer matches the hash it was approved with; it cannot be applied.")
            % {"number": revision.number},
            path="revision",
        )


def _cluster_facts(review: Review, cluster: Cluster) -> ReviewFacts:
    """The review as seen on one cluster: once approved, its deployment's state there (approved before any)."""
    facts = facts_of(review)
    if facts.state not in _APPROVED_OR_DEPLOYED:
        return facts
    deployment = Deployment.objects.filter(review=review, cluster=cluster).first()
    state = ReviewState(deployment.state) if deployment else ReviewState.APPROVED
    return ReviewFacts(state, facts.submitter, facts.contributors, facts.approvers)


_APPROVED_OR_DEPLOYED = (ReviewState.APPROVED, ReviewState.APPLIED, ReviewState.FAILED)


def record_apply_outcome(
    review: Review,
    cluster: Cluster,
    *,
    user: Any,
    succeeded: bool,
    target: str,
    manifests: list[Any],
    result: dict[str, Any],
    error: str = "",
) -> Deployment:
    """Store how applying the review's revision to ``cluster`` ended, with its audit entry (manifests included).

    Called after the cluster call returns (no transaction is held across it); the rules are checked again.
    """
    action = ReviewAction.APPLY if succeeded else ReviewAction.FAIL
    with transaction.atomic():
        review = Review.objects.select_for_update().select_related("policy", "revision").get(pk=review.pk)
        state = _decide(action, _cluster_facts(review, cluster), user, review)
        deployment, _created = Deployment.objects.update_or_create(
            review=review,
            cluster=cluster,
            defaults={"state": state, "target": target, "error": error, "user": services._user_or_none(user)},
        )
        review.state = state
        review.save(update_fields=["state", "updated_at"])
        append_entry(
            action=f"review.{action.value}",
            user=user,
            policy=review.policy,
            revision=review.revision,
            cluster=cluster.name,
            target=target,
            manifests=manifests,
            result={**result, "state": state.value, **({"error": error} if error else {})},
        )
        webhooks.state_changed(review, user=user, cluster=cluster.name, target=target, error=error)
    return deployment
