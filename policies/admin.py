"""Django admin for the console's models (read-mostly: revisions are immutable)."""

from django.contrib import admin

from policies.models import EgressGateway, EgressPolicy, GatewayPortRecord, PolicyDraft, PolicyRevision


class GatewayPortInline(admin.TabularInline):
    model = GatewayPortRecord
    extra = 0


@admin.register(EgressGateway)
class EgressGatewayAdmin(admin.ModelAdmin):
    list_display = ("name", "namespace", "mtls", "created_at")
    search_fields = ("name",)
    inlines = [GatewayPortInline]


@admin.register(EgressPolicy)
class EgressPolicyAdmin(admin.ModelAdmin):
    list_display = ("name", "namespace", "gateway", "created_by", "created_at")
    search_fields = ("name",)


@admin.register(PolicyDraft)
class PolicyDraftAdmin(admin.ModelAdmin):
    list_display = ("policy", "version", "updated_by", "updated_at")
    readonly_fields = ("version",)


@admin.register(PolicyRevision)
class PolicyRevisionAdmin(admin.ModelAdmin):
    list_display = ("policy", "number", "author", "message", "created_at")
    list_filter = ("policy",)

    def has_change_permission(self, request, obj=None) -> bool:
        return False
