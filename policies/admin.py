"""Django admin for the console's models (read-mostly: revisions are immutable, the audit log append-only)."""

from django.contrib import admin, messages
from django.core.exceptions import BadRequest
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

from policies import review_plan, review_report, reviews
from policies.admin_base import ReadOnlyAdmin, ReadOnlyInline
from policies.models import (
    Approval,
    AuditEntry,
    Cluster,
    Deployment,
    EgressGateway,
    EgressPolicy,
    GatewayPortRecord,
    PolicyDraft,
    PolicyRevision,
    Review,
)
from policies.services import ServiceError
from policies.views.review_diff_html import plan_rows_html
from policies.views.reviews import report_context


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


class ReviewDecisionInline(ReadOnlyInline):
    model = Approval
    readonly_fields = ("user", "decision", "comment", "created_at")


class DeploymentInline(ReadOnlyInline):
    model = Deployment
    readonly_fields = ("cluster", "state", "target", "error", "user", "updated_at")


def _decide(modeladmin, request, queryset, verb, done) -> None:
    """Take one workflow step on each selected review through the same verb as the API (same rules)."""
    for review in queryset:
        try:
            verb(review, user=request.user, comment=str(_("via the Django admin")))
        except ServiceError as exc:
            modeladmin.message_user(request, f"#{review.pk}: {exc.code}: {exc.message}", messages.ERROR)
        else:
            modeladmin.message_user(request, done % {"id": review.pk}, messages.SUCCESS)


@admin.action(description=_("Approve the selected reviews"), permissions=["approve"])
def approve_reviews(modeladmin, request, queryset) -> None:
    _decide(modeladmin, request, queryset, reviews.approve_review, _("Review #%(id)s approved."))


@admin.action(description=_("Reject the selected reviews"), permissions=["approve"])
def reject_reviews(modeladmin, request, queryset) -> None:
    _decide(modeladmin, request, queryset, reviews.reject_review, _("Review #%(id)s rejected."))


class NoNulFilters:
    """A list whose filters hold a NUL is a 400: PostgreSQL's text cannot hold one, so the query would fail (a 500)."""

    def changelist_view(self, request, extra_context=None):
        if any("\x00" in key + value for key, values in request.GET.lists() for value in values):
            raise BadRequest(_("A filter cannot contain a NUL character."))
        return super().changelist_view(request, extra_context)  # type: ignore[misc]


@admin.register(Review)
class ReviewAdmin(NoNulFilters, admin.ModelAdmin):
    list_display = ("id", "policy", "revision", "state", "author", "created_at")
    list_filter = ("state", "policy")
    readonly_fields = (
        "policy",
        "revision",
        "restores",
        "state",
        "author",
        "contributors",
        "message",
        "created_at",
        "review_report",
    )
    inlines = [ReviewDecisionInline, DeploymentInline]
    actions = [approve_reviews, reject_reviews]

    class Media:
        css = {"all": ["policies/css/review.css", "policies/css/review-admin.css"]}

    def has_add_permission(self, request) -> bool:
        return False  # NB: reviews are opened by submitting a draft, which freezes it as a revision

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_approve_permission(self, request) -> bool:
        return request.user.has_perm("policies.approve_review")

    @admin.display(description=_("Reachability change, summary, diff and plans"))
    def review_report(self, obj: Review) -> str:
        """The console's review report, read-only (the same service as the review page and the API)."""
        review = review_report.report_queryset().get(pk=obj.pk)
        plans = review_plan.cached_plans(review, list(Cluster.objects.all()))
        shown = [{"plan": plan, "rows": plan_rows_html(review_plan.plan_rows(plan))} for plan in plans]
        context: dict = {"review": review, "plans": shown}
        try:
            context.update(report_context(review_report.build_report(review)))
        except review_report.ReportUnavailable as exc:
            context["report_error"] = exc
        return render_to_string("policies/review_admin_report.html", context)


@admin.register(AuditEntry)
class AuditEntryAdmin(NoNulFilters, ReadOnlyAdmin):
    list_display = ("id", "created_at", "actor", "action", "policy_name", "revision_number", "cluster", "target")
    list_filter = ("action", "target")
    search_fields = ("actor", "policy_name", "request_id")
    readonly_fields = [field.name for field in AuditEntry._meta.fields]


# NB: imported for what they register: the observed-traffic, apply-job and webhook admins.
from policies import admin_discovery, admin_jobs  # noqa: E402, F401
