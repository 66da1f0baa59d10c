"""Applying a review from the console: the apply panel's state, starting a job, following its progress.

The panel (``includes/apply_panel.html``) works out for itself what the signed-in user may do with
the review it is given (``apply_panel_state``): nothing is shown to a role that may not apply, and
an operator looking at a review that is not approved is told why. Starting a job calls
``jobs.start_apply`` (the same rules as the API and the CLI) and redirects to the job page, or
answers JSON to the panel's script; the job page and the script read ``job_progress``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from policies import jobs, reviews
from policies.core.review import ReviewAction, TransitionRefused, decide
from policies.models import ApplyJob, ApplyJobCluster, ApplyJobObject, Cluster, Review
from policies.services import ServiceError

APPLY_PERMISSION = "policies.apply_review"
READ_JOBS = ("policies.view_review",)
OUTCOMES = [value for value, _label in ApplyJobObject.Outcome.choices]
RECENT_JOBS = 5


class ApplyForm(forms.Form):
    """The panel's form: which clusters, which target, dry run or not."""

    clusters = forms.MultipleChoiceField(label=gettext_lazy("Clusters"), choices=())
    target = forms.ChoiceField(label=gettext_lazy("Target"), choices=[("istio", "istio"), ("asm", "asm")])
    dry_run = forms.BooleanField(label=gettext_lazy("Dry run only"), required=False)

    def __init__(self, *args: Any, cluster_names: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if cluster_names is None:
            cluster_names = list(Cluster.objects.order_by("name").values_list("name", flat=True))
        self.cluster_names = cluster_names
        self.fields["clusters"].choices = [(name, name) for name in self.cluster_names]  # type: ignore[attr-defined]


@dataclass
class ApplyPanelState:
    """What the apply panel shows one user for one review."""

    visible: bool
    allowed: bool = False
    reason: str = ""
    form: ApplyForm | None = None
    jobs: list[ApplyJob] = field(default_factory=list)
    latest: ApplyJob | None = None
    latest_progress: dict[str, Any] | None = None


NEVER_APPROVED = ("in_review", "rejected")
"""Review states that cannot have apply jobs (so the panel does not look for any)."""


def apply_panel_state(review: Review, user: Any, cluster_names: list[str] | None = None) -> ApplyPanelState:
    """Whether ``user`` may apply ``review`` now (and if not, why), the form, and the review's recent jobs.

    ``cluster_names``: the registered clusters, when the page has already read them.
    """
    actor = reviews.actor_of(user)
    if not actor.may(APPLY_PERMISSION):
        return ApplyPanelState(visible=False)
    recent = (
        [] if review.state in NEVER_APPROVED else list(jobs.jobs_with_progress().filter(review=review)[:RECENT_JOBS])
    )
    form = ApplyForm(cluster_names=cluster_names)
    state = ApplyPanelState(visible=True, form=form, jobs=recent)
    if recent:
        state.latest, state.latest_progress = recent[0], job_progress(recent[0])
    try:
        decide(ReviewAction.APPLY, reviews.facts_of(review), actor, required_approvals=reviews.required_approvals())
    except TransitionRefused:
        state.reason = _(
            "This review is %(state)s: only an approved revision can be applied (or dry-run). "
            "Once it is approved, choose the clusters here."
        ) % {"state": review.get_state_display()}
        return state
    state.allowed = True
    if not form.cluster_names:
        state.allowed, state.reason = False, _("No cluster is registered yet; an admin adds them on the Clusters page.")
    return state


@require_POST
def apply_start(request, pk: int):
    """Start an apply job of review ``pk``: redirect to the job page, or JSON for the panel's script."""
    review = Review.objects.select_related("policy", "revision").filter(pk=pk).first()
    if review is None:
        missing = _("There is no review #%(id)s.") % {"id": pk}
        if _wants_json(request):
            return _json_errors(404, [("", missing)], code="not_found")
        raise Http404(missing)
    if not reviews.actor_of(request.user).may(APPLY_PERMISSION):
        return _refused(request, review, 403, [("", _("Your role may not apply reviews."))], code="permission_denied")
    form = ApplyForm(request.POST)
    if not form.is_valid():
        return _refused(request, review, 400, [(name, str(e)) for name, errs in form.errors.items() for e in errs])
    data = form.cleaned_data
    try:
        clusters = jobs.resolve_clusters(data["clusters"])
        job = jobs.start_apply(review, clusters, target=data["target"], dry_run=data["dry_run"], user=request.user)
    except ServiceError as exc:
        return _refused(request, review, exc.status, [(exc.path, exc.message)], code=exc.code)
    page = reverse("policies:job-detail", kwargs={"pk": job.pk})
    if _wants_json(request):
        progress = reverse("policies:job-progress", kwargs={"pk": job.pk})
        return JsonResponse({"job": job.pk, "page": page, "progress": progress}, status=202)
    return redirect(page)


def _refused(request, review: Review, status: int, errors: list[tuple[str, str]], code: str = "invalid"):
    if _wants_json(request):
        return _json_errors(status, errors, code=code)
    for _path, message in errors:
        messages.error(request, message)
    return redirect(reverse("policies:review-detail", kwargs={"pk": review.pk}))


def _json_errors(status: int, errors: list[tuple[str, str]], code: str) -> JsonResponse:
    """The API's error shape, for the panel's script."""
    body = {"errors": [{"code": code, "path": path, "message": message} for path, message in errors]}
    return JsonResponse(body, status=status)


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _job_or_404(request, pk: int) -> ApplyJob:
    if not request.user.has_perms(READ_JOBS):
        raise PermissionDenied(_("Your role may not read apply jobs."))
    job = jobs.jobs_with_progress().filter(pk=pk).first()
    if job is None:
        raise Http404(_("There is no apply job #%(id)s.") % {"id": pk})
    return job


def job_detail(request, pk: int):
    """One job: what is applied where, and every cluster's per-object progress (live while it runs)."""
    job = _job_or_404(request, pk)
    state = apply_panel_state(job.review, request.user)
    failed = [row.cluster.name for row in job.clusters.all() if row.state == "failed"]
    context = {
        "job": job,
        "review": job.review,
        "progress": job_progress(job),
        "may_retry": state.allowed and bool(failed),
        "failed": failed,
    }
    return render(request, "policies/job_detail.html", context)


@require_GET
def job_progress_json(request, pk: int):
    """The job's progress as JSON (what the panel's script renders); a refusal in the API's error shape."""
    try:
        job = _job_or_404(request, pk)
    except PermissionDenied as exc:
        return _json_errors(403, [("", str(exc))], code="permission_denied")
    except Http404 as exc:
        return _json_errors(404, [("", str(exc))], code="not_found")
    return JsonResponse(job_progress(job))


def job_progress(job: ApplyJob) -> dict[str, Any]:
    """A job's state, and per cluster its state, error, counts per outcome and objects."""
    return {
        "id": job.pk,
        "state": job.state,
        "stateLabel": job.get_state_display(),
        "dryRun": job.dry_run,
        "target": job.target,
        "user": job.user.get_username() if job.user else "",
        "created": date_format(localtime(job.created_at), "Y-m-d H:i"),  # NB: as the Recent jobs list shows it
        "done": job.state in ("succeeded", "failed"),
        "waitingNote": _waiting_note(job),
        "clusters": [_cluster_progress(row) for row in job.clusters.all()],
    }


WAITING_NOTE_AFTER = timedelta(seconds=30)


def _waiting_note(job: ApplyJob) -> str:
    """What to check when no worker has taken a queued job up for a while (else empty)."""
    waited = timezone.now() - job.created_at
    if job.state != "queued" or waited < WAITING_NOTE_AFTER:
        return ""
    return _(
        "No worker has taken this job up for %(seconds)d s: is the job worker running (manage.py db_worker)? "
        "A job still queued after %(minutes)d min is abandoned by the next apply to its clusters."
    ) % {"seconds": waited.total_seconds(), "minutes": jobs.abandoned_after().total_seconds() // 60}


def _cluster_progress(row: ApplyJobCluster) -> dict[str, Any]:
    objects = list(row.items.all())
    counts = dict.fromkeys(OUTCOMES, 0)
    for item in objects:
        counts[item.outcome] += 1
    return {
        "cluster": row.cluster.name,
        "state": row.state,
        "stateLabel": row.get_state_display(),
        "errorCode": row.error_code,
        "errorMessage": row.error_message,
        "counts": counts,
        "objects": [
            {
                "kind": o.kind,
                "namespace": o.namespace,
                "name": o.name,
                "outcome": o.outcome,
                "outcomeLabel": o.get_outcome_display(),
                "errorCode": o.error_code,
                "message": o.message,
                "changes": [change["path"] for change in o.changes],
            }
            for o in objects
        ],
    }
