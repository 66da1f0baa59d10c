"""Persistent state: gateways, one policy per gateway, its working draft and its revisions.

The review workflow's tables (``models_review``: reviews, decisions, deployments, the audit log)
point at a ``PolicyRevision``; revisions are immutable snapshots, so anything can refer to one
safely. The working draft is the only mutable copy and is guarded by a version number for
optimistic locking.
"""

from __future__ import annotations

import hashlib
from typing import cast

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from policies.core.gateway import GatewayDescription, GatewayPort, GatewayProtocol
from policies.core.model import DEFAULT_POLICY_NAMESPACE, expected_policy_name

dns_label = RegexValidator(
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", _("Use a DNS-1123 label: lower-case letters, digits and '-'.")
)


class EgressGateway(models.Model):
    """An egress gateway of the mesh (ASM IstioGateway of type egress) and its Service ports."""

    name = models.CharField(_("name"), max_length=63, unique=True, validators=[dns_label])
    namespace = models.CharField(_("namespace"), max_length=63, default="istio-system", validators=[dns_label])
    mtls = models.BooleanField(_("mTLS enabled"), default=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("egress gateway")
        verbose_name_plural = _("egress gateways")

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"

    def describe(self) -> GatewayDescription:
        """The core's view of this gateway (uses prefetched ports when available)."""
        return GatewayDescription(
            name=self.name,
            namespace=self.namespace,
            mtls=self.mtls,
            ports=tuple(
                # NB: the column's choices are the gateway protocols, and pydantic re-checks the value.
                GatewayPort(name=p.name, number=p.number, protocol=cast(GatewayProtocol, p.protocol))
                for p in sorted(self.ports.all(), key=lambda p: p.number)
            ),
        )

    @property
    def policy_name(self) -> str:
        """The name ASM requires for this gateway's policy."""
        return expected_policy_name(self.name)


class GatewayPortRecord(models.Model):
    """One port of a gateway's Service."""

    class Protocol(models.TextChoices):
        HTTP = "HTTP", "HTTP"
        HTTP2 = "HTTP2", "HTTP2"
        GRPC = "GRPC", "GRPC"
        HTTPS = "HTTPS", "HTTPS"
        TLS = "TLS", "TLS"
        TCP = "TCP", "TCP"

    gateway = models.ForeignKey(EgressGateway, on_delete=models.CASCADE, related_name="ports")
    name = models.CharField(_("name"), max_length=63)
    number = models.PositiveIntegerField(_("number"), validators=[MinValueValidator(1), MaxValueValidator(65535)])
    protocol = models.CharField(_("protocol"), max_length=8, choices=Protocol.choices)

    class Meta:
        ordering = ["number"]
        constraints = [models.UniqueConstraint(fields=["gateway", "number"], name="unique_gateway_port_number")]
        verbose_name = _("gateway port")
        verbose_name_plural = _("gateway ports")

    def __str__(self) -> str:
        return f"{self.protocol} {self.number}"


class EgressPolicy(models.Model):
    """The ASMEgressTrafficPolicy of one gateway (`egress-by-{gateway}` in `istio-egress`)."""

    gateway = models.OneToOneField(EgressGateway, on_delete=models.PROTECT, related_name="policy")
    name = models.CharField(_("name"), max_length=253, unique=True)
    namespace = models.CharField(_("namespace"), max_length=63, default=DEFAULT_POLICY_NAMESPACE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("egress policy")
        verbose_name_plural = _("egress policies")

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}"


class PolicyDraft(models.Model):
    """The editable working copy of a policy's custom resource.

    ``version`` increases by one on every save; a save must name the version it was based on,
    and a stale one is refused (optimistic locking), so concurrent edits are never lost.
    """

    policy = models.OneToOneField(EgressPolicy, on_delete=models.CASCADE, related_name="draft")
    document = models.JSONField(_("custom resource"))
    version = models.PositiveIntegerField(_("version"), default=1)
    base_revision = models.ForeignKey(
        "PolicyRevision", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("policy draft")
        verbose_name_plural = _("policy drafts")

    def __str__(self) -> str:
        return f"{self.policy} draft v{self.version}"


class PolicyRevision(models.Model):
    """An immutable snapshot of a policy's custom resource, numbered 1, 2, ... per policy."""

    policy = models.ForeignKey(EgressPolicy, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(_("number"))
    document = models.JSONField(_("custom resource"))
    content_hash = models.CharField(_("content hash"), max_length=64)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    message = models.CharField(_("message"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["policy", "-number"]
        constraints = [models.UniqueConstraint(fields=["policy", "number"], name="unique_revision_number")]
        verbose_name = _("policy revision")
        verbose_name_plural = _("policy revisions")

    def __str__(self) -> str:
        return f"{self.policy} r{self.number}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None:
            raise ValueError("Policy revisions are immutable.")
        super().save(*args, **kwargs)


def content_hash(canonical_yaml: str) -> str:
    """sha256 of a policy's canonical YAML: equal hashes mean equal policies."""
    return hashlib.sha256(canonical_yaml.encode("utf-8")).hexdigest()


OUTBOUND_MODE_CHOICES = [("REGISTRY_ONLY", "REGISTRY_ONLY"), ("ALLOW_ANY", "ALLOW_ANY")]
OUTBOUND_SOURCE_CHOICES = [
    ("sidecar", _("root-namespace Sidecar")),
    ("mesh-config", _("mesh config")),
    ("istio-default", _("Istio's default")),
    ("none", _("no Istio mesh config")),
]


class Cluster(models.Model):
    """A Kubernetes cluster the console applies policies to.

    It is reached either through a kubeconfig file and context on the console's host, or with the
    console pod's own service account (``in_cluster``). Only the *location* of credentials is
    stored, never a token or key, and ``__str__`` shows the name alone, so nothing secret can reach
    a page, an API response, a log line or an error message through this model.
    """

    name = models.CharField(_("name"), max_length=63, unique=True, validators=[dns_label])
    in_cluster = models.BooleanField(
        _("use the in-cluster service account"),
        default=False,
        help_text=_("Connect with the console pod's own service account instead of a kubeconfig."),
    )
    kubeconfig_path = models.CharField(_("kubeconfig path"), max_length=500, blank=True)
    context = models.CharField(_("kubeconfig context"), max_length=253, blank=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # What the last connection check found (policies.clusters.check_cluster); pages read these, never the cluster.
    checked_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    reachable = models.BooleanField(_("reachable"), null=True, blank=True)
    check_error_code = models.CharField(_("check error code"), max_length=20, blank=True)
    check_error_message = models.CharField(_("check error message"), max_length=500, blank=True)
    targets = models.JSONField(_("targets"), default=list, blank=True, help_text=_("asm and/or istio."))
    versions = models.JSONField(
        _("served versions"), default=dict, blank=True, help_text=_("API group → the versions it serves.")
    )
    outbound_mode = models.CharField(
        _("outbound traffic mode"), max_length=16, blank=True, choices=OUTBOUND_MODE_CHOICES
    )
    outbound_mode_source = models.CharField(
        _("outbound mode source"), max_length=16, blank=True, choices=OUTBOUND_SOURCE_CHOICES
    )
    outbound_mode_origin = models.CharField(_("outbound mode origin"), max_length=320, blank=True)
    outbound_error_code = models.CharField(_("outbound mode error code"), max_length=20, blank=True)
    outbound_error_message = models.CharField(_("outbound mode error message"), max_length=500, blank=True)
    # Every Sidecar the last check listed, trimmed, for simulations with this cluster (clusters.ClusterSidecars).
    sidecars = models.JSONField(
        _("Sidecars"),
        default=dict,
        blank=True,
        help_text=_(
            "The Sidecars the last check read: state, error, the mesh config's mode and root namespace, items."
        ),
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("cluster")
        verbose_name_plural = _("clusters")
        permissions = [("check_cluster", "Can check a cluster's connection and drift")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(in_cluster=True, kubeconfig_path="", context="") | models.Q(in_cluster=False),
                name="cluster_in_cluster_has_no_kubeconfig",
            )
        ]

    def __str__(self) -> str:
        return self.name


class ApplyRecord(models.Model):
    """One apply, dry run, prune or delete of a policy on a cluster, with the outcome of each object.

    ``outcomes`` is a list of ``{kind, namespace, name, outcome, error_code, message, changes}``;
    written once, after the cluster call returns (no transaction is held across it).
    """

    class Action(models.TextChoices):
        APPLY = "apply", _("apply")
        DRY_RUN = "dry-run", _("dry run")
        DELETE = "delete", _("delete")

    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="apply_records")
    policy = models.ForeignKey(
        EgressPolicy, on_delete=models.SET_NULL, null=True, blank=True, related_name="apply_records"
    )
    revision = models.ForeignKey(
        PolicyRevision, on_delete=models.SET_NULL, null=True, blank=True, related_name="apply_records"
    )
    policy_name = models.CharField(_("policy name"), max_length=253)
    policy_namespace = models.CharField(_("policy namespace"), max_length=63)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    target = models.CharField(_("target"), max_length=10, blank=True)
    succeeded = models.BooleanField(_("succeeded"))
    error_code = models.CharField(_("error code"), max_length=20, blank=True)
    error_message = models.TextField(_("error message"), blank=True)
    outcomes = models.JSONField(_("object outcomes"), default=list)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("apply record")
        verbose_name_plural = _("apply records")

    def __str__(self) -> str:
        return f"{self.action} {self.policy_namespace}/{self.policy_name} on {self.cluster}"


class ClusterPolicyDrift(models.Model):
    """Whether a policy's objects on a cluster still match the revision last applied there, as last checked.

    Written by the cluster check (``policies.clusters``) so pages never call the cluster; ``revision``
    is the applied revision the check compared with, so a later apply makes the answer stale.
    """

    class State(models.TextChoices):
        IN_SYNC = "in-sync", _("in sync")
        DRIFTED = "drifted", _("drifted")
        UNKNOWN = "unknown", _("unknown")

    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, related_name="drift_checks")
    policy = models.ForeignKey(EgressPolicy, on_delete=models.CASCADE, related_name="drift_checks")
    revision = models.ForeignKey(PolicyRevision, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    state = models.CharField(_("drift"), max_length=10, choices=State.choices)
    drifted_objects = models.JSONField(_("drifted objects"), default=list, blank=True)
    error_code = models.CharField(_("error code"), max_length=20, blank=True)
    error_message = models.CharField(_("error message"), max_length=500, blank=True)
    checked_at = models.DateTimeField(_("checked"))

    class Meta:
        ordering = ["cluster__name", "policy__name"]
        verbose_name = _("cluster policy drift")
        verbose_name_plural = _("cluster policy drifts")
        constraints = [models.UniqueConstraint(fields=["cluster", "policy"], name="one_drift_check_per_policy")]

    def __str__(self) -> str:
        return f"{self.policy} on {self.cluster}: {self.state}"


# NB: at the end, because the workflow's models refer to the ones above; Django finds models by this module.
from policies.models_discovery import ObservationUpload, ObservedFlow  # noqa: E402, F401
from policies.models_jobs import ApplyJob, ApplyJobCluster, ApplyJobObject, WebhookDelivery  # noqa: E402
from policies.models_review import Approval, AuditEntry, Deployment, DraftContributor, Review  # noqa: E402

__all__ = [
    "ApplyJob",
    "ApplyJobCluster",
    "ApplyJobObject",
    "ApplyRecord",
    "Approval",
    "AuditEntry",
    "Cluster",
    "ClusterPolicyDrift",
    "Deployment",
    "DraftContributor",
    "EgressGateway",
    "EgressPolicy",
    "GatewayPortRecord",
    "PolicyDraft",
    "PolicyRevision",
    "Review",
    "WebhookDelivery",
]
