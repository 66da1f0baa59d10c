"""Django admin of apply jobs and webhook deliveries: read-only history, and a retry for deliveries.

Jobs are written only by ``policies.jobs`` and the worker, and they are part of what happened,
so nobody adds, edits or deletes them here; each links to its console page, where a failed
cluster can be retried through the same rules. A webhook delivery that was abandoned (the
receiver was down for all its attempts) can be sent again once the receiver is back.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from policies import webhooks
from policies.admin_base import ReadOnlyAdmin, ReadOnlyInline
from policies.models import ApplyJob, ApplyJobCluster, WebhookDelivery

RETRY_PERMISSION = "policies.change_webhookdelivery"


class ApplyJobClusterInline(ReadOnlyInline):
    model = ApplyJobCluster
    fields = ("cluster", "state", "error_code", "error_message", "started_at", "finished_at")
    readonly_fields = fields

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("policies.view_applyjob")  # NB: a job's clusters are part of the job


@admin.register(ApplyJob)
class ApplyJobAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "review", "target", "dry_run", "state", "user", "console_page")
    list_filter = ("state", "target", "dry_run")
    search_fields = ("review__policy__name", "user__username", "request_id")
    list_select_related = ("review", "user")
    inlines = [ApplyJobClusterInline]

    @admin.display(description=_("console"))
    def console_page(self, job: ApplyJob) -> str:
        return format_html('<a href="{}">{}</a>', reverse("policies:job-detail", args=[job.pk]), gettext("progress"))


@admin.action(description=_("Send the selected deliveries again"), permissions=["retry"])
def retry_deliveries(modeladmin, request, queryset) -> None:
    """Abandoned (or still pending) deliveries start over with a fresh count of attempts."""
    if not webhooks.enabled():
        modeladmin.message_user(request, gettext("EGRESS_WEBHOOK_URL is not set: nothing can be sent."), messages.ERROR)
        return
    sent = webhooks.retry(queryset.exclude(state=WebhookDelivery.State.DELIVERED))
    modeladmin.message_user(
        request,
        ngettext("%(count)d delivery queued again.", "%(count)d deliveries queued again.", sent) % {"count": sent},
        messages.SUCCESS,
    )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "event_name", "state", "attempts", "next_attempt_at", "last_error")
    list_filter = ("state",)
    actions = [retry_deliveries]

    @admin.display(description=_("event"))
    def event_name(self, delivery: WebhookDelivery) -> str:
        return str(delivery.event.get("event", ""))

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm(RETRY_PERMISSION)
