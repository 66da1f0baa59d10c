"""Persistent state of the review workflow: reviews, their decisions, draft contributors, the audit log.

The rules (which transition, by whom) live in ``policies.core.review``; these tables only hold
what happened. Two guarantees are the database's own, so they hold across processes: at most
one open review per policy (a partial unique index), and an append-only audit log (no update
or delete path here, in the admin or the API, and on PostgreSQL a trigger refusing both).
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

import pgtrigger
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from policies.core.review import OPEN_STATES, PERMISSIONS, ReviewState
from policies.models import Cluster, EgressPolicy, PolicyRevision


class Review(models.Model):
    """A request to approve one frozen revision of a policy, and where it stands."""

    class State(models.TextChoices):
        IN_REVIEW = ReviewState.IN_REVIEW.value, _("in review")
        APPROVED = ReviewState.APPROVED.value, _("approved")
        REJECTED = ReviewState.REJECTED.value, _("rejected")
        WITHDRAWN = ReviewState.WITHDRAWN.value, _("withdrawn")
        SUPERSEDED = ReviewState.SUPERSEDED.value, _("superseded")
        APPLIED = ReviewState.APPLIED.value, _("applied")
        FAILED = ReviewState.FAILED.value, _("failed")

    policy = models.ForeignKey(EgressPolicy, on_delete=models.CASCADE, related_name="reviews")
    revision = models.ForeignKey(PolicyRevision, on_delete=models.CASCADE, related_name="reviews")
    restores = models.ForeignKey(
        PolicyRevision,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("The earlier revision whose content this review brings back (a rollback)."),
    )
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.IN_REVIEW)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    contributors = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        blank=True,
        related_name="+",
        help_text=_("Everyone who authored or edited the revision: none of them may approve it."),
    )
    message = models.CharField(_("message"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("review")
        verbose_name_plural = _("reviews")
        permissions = [(name.split(".", 1)[1], text) for name, text in PERMISSIONS.items()]
        constraints = [
            models.UniqueConstraint(
                fields=["policy"],
                condition=models.Q(state__in=sorted(state.value for state in OPEN_STATES)),
                name="one_open_review_per_policy",
                violation_error_message=_("This policy already has an open review."),
            )
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.policy} r{self.revision.number} ({self.state})"


class Approval(models.Model):
    """One decision on a review: an approval, a rejection or a withdrawal, with its comment."""

    class Decision(models.TextChoices):
        APPROVE = "approve", _("approve")
        REJECT = "reject", _("reject")
        WITHDRAW = "withdraw", _("withdraw")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices)
    comment = models.CharField(_("comment"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("review decision")
        verbose_name_plural = _("review decisions")
        constraints = [
            models.UniqueConstraint(
                fields=["review", "user"], condition=models.Q(decision="approve"), name="one_approval_per_user"
            )
        ]

    def __str__(self) -> str:
        return f"{self.decision} on review #{self.review_id}"


class Deployment(models.Model):
    """Where a review's approved revision stands on one cluster: applied, or failed with the error (retryable).

    Written once per apply outcome by ``policies.reviews.record_apply_outcome``, after the cluster call.
    """

    class State(models.TextChoices):
        APPLIED = ReviewState.APPLIED.value, _("applied")
        FAILED = ReviewState.FAILED.value, _("failed")

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="deployments")
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="deployments")
    state = models.CharField(_("state"), max_length=12, choices=State.choices)
    target = models.CharField(_("target"), max_length=10)
    error = models.TextField(_("error"), blank=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["cluster__name"]
        verbose_name = _("deployment")
        verbose_name_plural = _("deployments")
        constraints = [models.UniqueConstraint(fields=["review", "cluster"], name="one_deployment_per_cluster")]

    def __str__(self) -> str:
        return f"review #{self.review_id} on {self.cluster_id}: {self.state}"


class DraftContributor(models.Model):
    """Someone who edited a policy's draft since its last approval (so they may not approve it)."""

    policy = models.ForeignKey(EgressPolicy, on_delete=models.CASCADE, related_name="contributors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    last_edit_at = models.DateTimeField(_("last edit"), default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["policy", "user"], name="unique_draft_contributor")]
        verbose_name = _("draft contributor")
        verbose_name_plural = _("draft contributors")

    def __str__(self) -> str:
        return f"{self.user_id} on {self.policy_id}"


class AppendOnlyError(Exception):
    """Audit entries are never changed or deleted."""


class AppendOnlyQuerySet(models.QuerySet["AuditEntry"]):
    """Bulk ``update()`` and ``delete()`` are refused like the model's own ``save()`` and ``delete()``."""

    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError("Audit entries are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError("Audit entries are append-only.")


class AuditEntry(models.Model):
    """One step of the workflow, append-only, chained to the previous entry by its hash.

    ``policy_id`` and ``actor`` are plain values rather than foreign keys: the entry outlives the
    policy and the user, and deleting either must not have to touch (or be refused by) the log.
    """

    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.CharField(_("who"), max_length=150, blank=True, db_index=True)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    policy_id = models.BigIntegerField(_("policy id"), null=True, blank=True, db_index=True)
    policy_name = models.CharField(_("policy"), max_length=253, blank=True)
    revision_number = models.PositiveIntegerField(_("revision"), null=True, blank=True)
    revision_hash = models.CharField(_("revision hash"), max_length=64, blank=True)
    cluster = models.CharField(_("cluster"), max_length=63, blank=True)
    target = models.CharField(_("target"), max_length=10, blank=True)
    manifests = models.JSONField(_("manifests"), default=list, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    prev_hash = models.CharField(_("previous hash"), max_length=64, unique=True, blank=True)
    hash = models.CharField(_("hash"), max_length=64, unique=True)

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        ordering = ["-pk"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        triggers = [
            pgtrigger.Protect(name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.action} by {self.actor or '-'}"

    def hashed_fields(self) -> dict[str, Any]:
        """The fields the chain's hash covers, as ``policies.core.audit.entry_hash`` reads them."""
        return {
            "created_at": self.created_at.astimezone(UTC).isoformat(),
            "actor": self.actor,
            "action": self.action,
            "policy_id": self.policy_id,
            "policy_name": self.policy_name,
            "revision_number": self.revision_number,
            "revision_hash": self.revision_hash,
            "cluster": self.cluster,
            "target": self.target,
            "manifests": self.manifests,
            "result": self.result,
            "request_id": self.request_id,
            "comment": self.comment,
            "prev_hash": self.prev_hash,
        }

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise AppendOnlyError("Audit entries are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("Audit entries are append-only.")
