"""Observed egress traffic (issue 13): flows aggregated from uploaded access logs, and each upload.

Raw log text is never stored: an upload keeps who sent what (file names and sizes), the ingest
summary and the numbers, codes and reasons of its first refused lines; a flow keeps counts per
source workload and destination. A flow is scoped to the gateway whose policy it informs (and,
when the pods came from a registered cluster, that cluster); each upload merges its flows into
the existing rows of the same key. Rows not touched by an upload for
``EGRESS_OBSERVATION_RETENTION_DAYS`` are pruned (``policies.discovery.prune``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from policies.models import Cluster, EgressGateway


class ObservationUpload(models.Model):
    """One ingest of access logs: who, when, what was read, and what was refused (never the lines)."""

    class PodSource(models.TextChoices):
        DOCUMENT = "document", _("pod list document")
        CLUSTER = "cluster", _("registered cluster")
        NAMESPACE = "namespace", _("namespace and labels")

    gateway = models.ForeignKey(EgressGateway, on_delete=models.CASCADE, related_name="observation_uploads")
    cluster = models.ForeignKey(
        Cluster, on_delete=models.SET_NULL, null=True, blank=True, related_name="observation_uploads"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    inputs = models.JSONField(_("inputs"), default=list, help_text=_("Name and size of each log read."))
    pod_source = models.CharField(_("pods from"), max_length=10, choices=PodSource.choices)
    summary = models.JSONField(_("summary"), default=dict)
    refused_lines = models.JSONField(
        _("refused lines"), default=list, help_text=_("The first refused lines: input, line number, code, reason.")
    )

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("observation upload")
        verbose_name_plural = _("observation uploads")

    def __str__(self) -> str:
        return f"{self.gateway.name} {self.created_at:%Y-%m-%d %H:%M}"


class ObservedFlow(models.Model):
    """Every observed line from one source workload to one destination, aggregated.

    ``key_hash`` identifies the flow (gateway, cluster, source, host, port, protocol) so that an
    upload finds the row to merge into with one indexed lookup, whatever the labels' length.
    """

    gateway = models.ForeignKey(EgressGateway, on_delete=models.CASCADE, related_name="observed_flows")
    cluster = models.ForeignKey(Cluster, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    key_hash = models.CharField(_("flow key"), max_length=64, unique=True)
    source_namespace = models.CharField(_("source namespace"), max_length=63)
    source_labels = models.JSONField(_("source labels"), default=dict)
    source_label = models.TextField(_("source"))
    host = models.CharField(_("host"), max_length=255)
    port = models.PositiveIntegerField(_("port"))
    protocol = models.CharField(_("protocol"), max_length=8)
    count = models.PositiveBigIntegerField(_("lines"), default=0)
    reached = models.PositiveBigIntegerField(_("lines that reached the destination"), default=0)
    first_seen = models.DateTimeField(_("first seen"))
    last_seen = models.DateTimeField(_("last seen"))
    outcomes = models.JSONField(_("outcomes"), default=dict)
    clusters = models.JSONField(_("upstream clusters"), default=dict)
    cluster_kinds = models.JSONField(_("upstream cluster kinds"), default=dict)
    last_upload = models.ForeignKey(
        ObservationUpload, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("last ingested"))

    class Meta:
        ordering = ["gateway", "source_namespace", "source_label", "host", "port", "protocol"]
        verbose_name = _("observed flow")
        verbose_name_plural = _("observed flows")
        indexes = [
            models.Index(fields=["gateway", "source_namespace"], name="observedflow_gateway_ns"),
            models.Index(fields=["gateway", "host"], name="observedflow_gateway_host"),
            models.Index(fields=["updated_at"], name="observedflow_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.source_label} → {self.host}:{self.port} {self.protocol}"

    @property
    def allowed_today(self) -> bool:
        """At least one observed line reached the destination."""
        return self.reached > 0
