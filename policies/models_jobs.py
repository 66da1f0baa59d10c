"""Background work of the review workflow: apply jobs (per cluster, per object) and webhook deliveries.

An apply job is the durable record of one "apply this approved revision to these clusters" request:
the web request only writes it and enqueues the task, the worker fills in progress as objects are
written, and any page or API client reads it back. The guarantee that two operators cannot apply to
the same place at once is the database's, so it holds across processes and replicas: a partial
unique index allows one active (queued or running) non-dry-run apply per policy and cluster.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from policies.models import Cluster, EgressPolicy, PolicyRevision
from policies.models_review import Review

ACTIVE_STATES = ("queued", "running")


class JobState(models.TextChoices):
    """Where an apply job (or one cluster of it) stands."""

    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")


class ApplyJob(models.Model):
    """One request to apply (or dry-run) a review's approved revision to one or more clusters."""

    class Target(models.TextChoices):
        ASM = "asm", "asm"
        ISTIO = "istio", "istio"

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="apply_jobs")
    revision = models.ForeignKey(PolicyRevision, on_delete=models.CASCADE, related_name="+")
    content_hash = models.CharField(_("revision hash"), max_length=64)
    target = models.CharField(_("target"), max_length=10, choices=Target.choices)
    dry_run = models.BooleanField(_("dry run"), default=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    state = models.CharField(_("state"), max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("apply job")
        verbose_name_plural = _("apply jobs")

    def __str__(self) -> str:
        return f"job #{self.pk} review #{self.review_id} ({self.state})"


class ApplyJobCluster(models.Model):
    """One cluster of an apply job: its state, the error that failed it, and when it ran.

    ``policy`` and ``dry_run`` repeat the job's so that the partial unique index can say "one active
    apply per policy and cluster" without a join (a dry run writes nothing and never blocks anyone).
    """

    job = models.ForeignKey(ApplyJob, on_delete=models.CASCADE, related_name="clusters")
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="+")
    policy = models.ForeignKey(EgressPolicy, on_delete=models.CASCADE, related_name="+")
    dry_run = models.BooleanField(default=False)
    state = models.CharField(_("state"), max_length=10, choices=JobState.choices, default=JobState.QUEUED)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["job", "cluster__name"]
        verbose_name = _("apply job cluster")
        verbose_name_plural = _("apply job clusters")
        constraints = [
            models.UniqueConstraint(fields=["job", "cluster"], name="one_row_per_job_cluster"),
            models.UniqueConstraint(
                fields=["policy", "cluster"],
                condition=models.Q(state__in=ACTIVE_STATES, dry_run=False),
                name="one_active_apply_per_policy_cluster",
                violation_error_message=_("Another apply of this policy to this cluster is running."),
            ),
        ]

    def __str__(self) -> str:
        return f"job #{self.job_id} on {self.cluster_id}: {self.state}"


class ApplyJobObject(models.Model):
    """One object of one cluster of a job: pending until written, then its outcome (or the plan's, in a dry run)."""

    class Outcome(models.TextChoices):
        PENDING = "pending", _("pending")
        CREATED = "created", _("created")
        CONFIGURED = "configured", _("configured")
        UNCHANGED = "unchanged", _("unchanged")
        PRUNED = "pruned", _("pruned")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("skipped")

    job_cluster = models.ForeignKey(ApplyJobCluster, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField(_("position"))
    kind = models.CharField(_("kind"), max_length=63)
    namespace = models.CharField(_("namespace"), max_length=63, blank=True)
    name = models.CharField(_("name"), max_length=253)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices, default=Outcome.PENDING)
    error_code = models.CharField(_("error code"), max_length=64, blank=True)
    message = models.TextField(_("message"), blank=True)
    changes = models.JSONField(_("changes"), default=list, blank=True)

    class Meta:
        ordering = ["job_cluster", "position"]
        verbose_name = _("apply job object")
        verbose_name_plural = _("apply job objects")
        constraints = [
            models.UniqueConstraint(
                fields=["job_cluster", "kind", "namespace", "name"], name="one_row_per_job_cluster_object"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}: {self.outcome}"


class WebhookDelivery(models.Model):
    """One review event on its way to ``EGRESS_WEBHOOK_URL``, with every attempt counted.

    The URL is not stored (it may carry a token); the delivery task reads it from the settings.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("pending")
        DELIVERED = "delivered", _("delivered")
        ABANDONED = "abandoned", _("abandoned")

    event = models.JSONField(_("event"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"webhook #{self.pk} {self.event.get('event', '')} ({self.state})"
