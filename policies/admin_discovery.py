"""Django admin of observed traffic (issue 13): read-only rows an admin may delete or prune.

Flows and uploads are written only by an ingest (``policies.discovery``), so nobody adds or edits
them here; deleting them (and pruning what is past the retention period) needs
``policies.delete_observedflow``, which only the admin role holds.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from policies import discovery
from policies.admin_base import ReadOnlyAdmin
from policies.models import ObservationUpload, ObservedFlow


class ReadOnlyObservationAdmin(ReadOnlyAdmin):
    """Never added or changed by hand; deleted by those who may delete observations."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(discovery.DELETE_PERMISSION)

    def has_prune_permission(self, request) -> bool:
        return request.user.has_perm(discovery.DELETE_PERMISSION)


@admin.action(description=_("Delete every observation past the retention period"), permissions=["prune"])
def prune_observations(modeladmin, request, queryset) -> None:
    """Apply ``EGRESS_OBSERVATION_RETENTION_DAYS`` now, whatever is selected."""
    deleted = discovery.prune()
    modeladmin.message_user(
        request,
        gettext("%(count)d flows older than %(days)d days deleted.")
        % {"count": deleted, "days": discovery.retention_days()},
        messages.SUCCESS,
    )


@admin.register(ObservedFlow)
class ObservedFlowAdmin(ReadOnlyObservationAdmin):
    list_display = (
        "source_label",
        "host",
        "port",
        "protocol",
        "count",
        "reached",
        "last_seen",
        "gateway",
        "updated_at",
    )
    list_filter = ("gateway", "protocol", "cluster")
    search_fields = ("source_label", "host")
    actions = ["delete_selected", prune_observations]


@admin.register(ObservationUpload)
class ObservationUploadAdmin(ReadOnlyObservationAdmin):
    list_display = ("created_at", "gateway", "cluster", "uploaded_by", "pod_source")
    list_filter = ("gateway", "pod_source")
    actions = ["delete_selected", prune_observations]
