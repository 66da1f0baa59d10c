"""Read-only bases of the Django admin: history the console writes itself, shown but never edited by hand.

The audit log, apply jobs, webhook deliveries and observed traffic are written only by their
services, so the admin must not add or change them (and, unless a class says otherwise, not
delete them either); a review's decisions, deployments and a job's clusters show inline the same way.
"""

from __future__ import annotations

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Seen, never added, changed or deleted here."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows of the parent's history, shown with it: none added, changed or removed here."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
