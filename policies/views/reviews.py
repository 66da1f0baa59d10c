"""Review pages: the list, one review (reachability change first, then summary, diffs, plan, decision), its
plan fragment, and the console's workflow forms (decide, submit a draft, restore a revision).

Each form posts to a view that calls one verb of ``policies.reviews`` (the same rules as the API and the
admin) and redirects with a message; a refusal is shown with the verb's own reason.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from policies import reviews
from policies.core.review import ReviewAction, TransitionRefused, decide
from policies.models import Cluster, Review
from policies.review_plan import TARGETS, plan_rows, plan_target, review_plan, with_last_target
from policies.review_report import ReportUnavailable, ReviewReport, build_report, report_queryset
from policies.services import ServiceError
from policies.views.common import get_policy
from policies.views.review_diff_html import plan_rows_html, shown_diffs

READ_REVIEWS = ("policies.view_review", "policies.view_policyrevision")
DECISIONS = (ReviewAction.APPROVE, ReviewAction.REJECT, ReviewAction.WITHDRAW)
VERBS = {
    ReviewAction.APPROVE: reviews.approve_review,
    ReviewAction.REJECT: reviews.reject_review,
    ReviewAction.WITHDRAW: reviews.withdraw_review,
}
PAGE_SIZE = 50
MAX_ID = 2**63 - 1


class DecisionForm(forms.Form):
    """The decision panel's form, held to the API's rules (a comment of at most 2000 characters, no NUL)."""

    action = forms.ChoiceField(choices=[(a.value, a.value) for a in DECISIONS])
    comment = forms.CharField(label=gettext_lazy("Comment"), required=False, max_length=2000)


class SubmitForm(forms.Form):
    """The editor's submit form, held to the API's rules (a message of at most 500 characters, no NUL)."""

    message = forms.CharField(label=gettext_lazy("Message"), required=False, max_length=500)


def _field_errors(request, form: forms.Form) -> None:
    """Each of the form's errors as a message that names its field (the forms post, then redirect)."""
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))


def _require_read(request) -> None:
    if not request.user.has_perms(READ_REVIEWS):
        raise PermissionDenied(_("Your role may not read reviews."))


def review_list(request):
    """Reviews, newest first, filtered by state, policy and author."""
    _require_read(request)
    filters = {key: request.GET.get(key, "").strip() for key in ("state", "policy", "author")}
    found = Review.objects.select_related("policy", "revision", "restores", "author")
    refused = _filter_errors(filters)
    for error in refused:
        messages.error(request, error)
    if refused:
        found = found.none()
    if filters["state"]:
        found = found.filter(state=filters["state"])
    if filters["policy"]:
        found = found.filter(policy__name=filters["policy"])
    if filters["author"]:
        found = found.filter(author__username=filters["author"])
    page = Paginator(found, PAGE_SIZE).get_page(request.GET.get("page"))
    query = urlencode({key: value for key, value in filters.items() if value})
    context = {"page": page, "filters": filters, "states": Review.State.choices, "query": query}
    return render(request, "policies/review_list.html", context)


def _filter_errors(filters: dict[str, str]) -> list[str]:
    """Why the list's filters can match nothing: an unknown state, or a NUL (PostgreSQL's text cannot hold one)."""
    errors = []
    if filters["state"] and filters["state"] not in Review.State.values:
        errors.append(_("There is no review state %(state)s.") % {"state": filters["state"]})
    if any("\x00" in value for value in filters.values()):
        errors.append(_("A filter cannot contain a NUL character."))
    return errors


def review_detail(request, pk: int):
    """One review against the last revision applied (to ``?cluster=``), with the decision panel."""
    _require_read(request)
    review = _review(pk)
    clusters = list(Cluster.objects.order_by("name"))
    cluster = _chosen_cluster(request, clusters)
    target = request.GET.get("target") if request.GET.get("target") in TARGETS else ""
    context: dict[str, Any] = {
        "review": review,
        "clusters": clusters,
        "cluster": cluster,
        "target": target,
        "targets": TARGETS,
        "decisions": (decisions := decision_panel(review, request.user)),
        "can_decide": any(item["allowed"] for item in decisions),
    }
    try:
        context.update(report_context(build_report(review, cluster=cluster)))
    except ReportUnavailable as exc:
        context["report_error"] = exc
    return render(request, "policies/review_detail.html", context)


def report_context(report: ReviewReport) -> dict[str, Any]:
    """What the report's templates read (shared with the Django admin's review page).

    Plain values and rendered tables only: the context outlives the view (a request and its context
    are freed by the garbage collector, not by reference counting), so the report's thousands of
    diff rows must not hang from it.
    """
    shown = shown_diffs(report)
    header = {
        "base": report.base,
        "mesh_mode": report.mesh_mode,
        "mesh_mode_source": report.mesh_mode_source,
        "mesh_sidecars": report.mesh_sidecars,
        "cr_added": shown.cr_added,
        "cr_removed": shown.cr_removed,
        "object_counts": shown.object_counts,
    }
    return {
        "report": header,
        "reach": report.reachability.as_dict(_),
        "summary": [change.as_dict(_) for change in report.summary],
        "cr_table": shown.cr_table,
        "object_tables": shown.objects,
    }


def _review(pk: int, queryset: Any = None) -> Review:
    # NB: the URL takes any digits; past a bigint no review can have the id (and SQLite would overflow).
    found = queryset if queryset is not None else report_queryset()
    review = found.filter(pk=pk).first() if pk <= MAX_ID else None
    if review is None:
        raise Http404(_("No review #%(id)s.") % {"id": pk})
    return review


def _chosen_cluster(request, clusters: list[Cluster]) -> Cluster | None:
    name = request.GET.get("cluster", "")
    if not name:
        return None
    chosen = next((c for c in clusters if c.name == name), None)
    if chosen is None:
        messages.error(
            request, _("No cluster named %(name)s; comparing with the latest applied revision.") % {"name": name}
        )
    return chosen


def decision_panel(review: Review, user: Any) -> list[dict[str, Any]]:
    """Per decision (approve, reject, withdraw): whether ``user`` may take it now, or the reason why not."""
    facts, actor = reviews.facts_of(review), reviews.actor_of(user)
    panel = []
    for action in DECISIONS:
        try:
            decide(action, facts, actor, required_approvals=reviews.required_approvals())
        except TransitionRefused as refusal:
            reason = reviews.ReviewRefused(refusal, review)
            panel.append({"action": action.value, "allowed": False, "code": reason.code, "reason": reason.message})
        else:
            panel.append({"action": action.value, "allowed": True, "code": "", "reason": ""})
    return panel


@require_http_methods(["GET", "POST"])
def review_plan_fragment(request, pk: int):
    """The plan panel's content for ``?cluster=`` (POST: plan again instead of the cached plan)."""
    _require_read(request)
    if not request.user.has_perm("policies.view_cluster"):
        raise PermissionDenied(_("Your role may not read clusters."))
    plain = Review.objects.select_related("policy__gateway", "revision").prefetch_related("policy__gateway__ports")
    review = _review(pk, plain)
    name = request.GET.get("cluster", "")
    found = with_last_target(Cluster.objects.filter(name=name), review.policy_id)
    cluster = found.first() if "\x00" not in name else None
    if cluster is None:
        raise Http404(_("No such cluster."))
    requested = request.GET.get("target") if request.GET.get("target") in TARGETS else None
    chosen = plan_target(cluster, review.policy_id, requested)
    plan = review_plan(review, cluster, target=chosen.target, refresh=request.method == "POST")
    context = {"plan": plan, "plan_rows": plan_rows_html(plan_rows(plan)), "review": review, "plan_target": chosen}
    if plan.get("plannedAt"):
        context["planned_at"] = datetime.fromisoformat(plan["plannedAt"])
    return render(request, "policies/review_plan.html", context)


@require_POST
def review_decide(request, pk: int):
    """Approve, reject or withdraw with the form's comment; the verb's refusal is shown as it is."""
    review = _review(pk)
    form = DecisionForm(request.POST)
    if "action" in form.errors:
        messages.error(request, _("Choose approve, reject or withdraw."))
        return redirect("policies:review-detail", pk)
    if not form.is_valid():
        _field_errors(request, form)
        return redirect("policies:review-detail", pk)
    action, comment = form.cleaned_data["action"], form.cleaned_data["comment"]
    verb = next(VERBS[a] for a in DECISIONS if a.value == action)
    if action == ReviewAction.REJECT and not comment:
        # NB: the author reads the rejection to fix the change; a bare "rejected" does not say what to fix.
        messages.error(request, _("Say in the comment why you reject it: the author needs to know what to change."))
        return redirect("policies:review-detail", pk)
    try:
        decided = verb(review, user=request.user, comment=comment)
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
    else:
        messages.success(
            request, _("Review #%(id)s is now %(state)s.") % {"id": pk, "state": decided.get_state_display()}
        )
    return redirect("policies:review-detail", pk)


@require_POST
def policy_submit(request, name: str):
    """Freeze the saved draft as a revision and open a review of it."""
    policy = get_policy(name)
    form = SubmitForm(request.POST)
    if not form.is_valid():
        _field_errors(request, form)
        return redirect("policies:policy-edit", name)
    try:
        review = reviews.submit_review(policy, user=request.user, message=form.cleaned_data["message"])
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
        return redirect("policies:policy-edit", name)
    messages.success(
        request,
        _("Revision %(number)d submitted for review #%(id)s.") % {"number": review.revision.number, "id": review.pk},
    )
    return redirect("policies:review-detail", review.pk)


@require_POST
def revision_restore(request, name: str, number: int):
    """Make an earlier revision's content the draft; it is then submitted for review like any change."""
    policy = get_policy(name)
    try:
        reviews.restore_revision(policy, number, user=request.user)
    except ServiceError as exc:
        messages.error(request, f"{exc.message} ({exc.code})")
        return redirect("policies:revision-detail", name, number)
    messages.success(
        request,
        _("Revision %(number)d is the draft again. Submit it for review to roll back.") % {"number": number},
    )
    return redirect("policies:policy-edit", name)
