"""The Discover page: upload access logs, see the observed flows, propose rules, replay a candidate.

One page per gateway (``?gateway=``). Uploading posts the logs (multipart, streamed to disk by
Django's upload handlers, refused with 413 from ``Content-Length`` before anything is read when
over ``EGRESS_DISCOVERY_MAX_UPLOAD_BYTES``) and redirects to the page showing that upload's
summary; proposing renders the proposal and its diff against the current draft, and "Save as
draft" writes it (optimistic locking on the draft version shown) and opens the editor, where the
review workflow takes over. Replaying is a read (``?replay=draft`` or ``revision:N``).
Who may do what is the API's rule (``policies.discovery``): every role reads, editors and admins
upload and propose, admins delete.
"""

from __future__ import annotations

import io
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from policies import discovery
from policies.models import Cluster, EgressGateway, EgressPolicy, ObservationUpload, ObservedFlow, Review
from policies.services import ServiceError

READ_PERMISSION = "policies.view_observedflow"
FLOWS_SHOWN = 500
RECENT = 5
REPLAY_ROWS_SHOWN = 200
# NB: the review page answers every reviewer's visit; a gateway with more flows is replayed on request instead.
REVIEW_REPLAY_LIMIT = 20_000
OUTCOME_CHOICES = ("200", "403", "502", "503", "reset", "connected")


def _require_read(request) -> None:
    if not request.user.has_perm(READ_PERMISSION):
        raise PermissionDenied(_("Your role may not see observed traffic."))


def _gateway(name: str) -> EgressGateway:
    if "\x00" in name:  # NB: PostgreSQL's text cannot hold a NUL, so no gateway is named with one (and asking fails)
        raise Http404(_("No egress gateway named %(name)s.") % {"name": name.replace("\x00", "")[:63]})
    gateway = EgressGateway.objects.prefetch_related("ports").filter(name=name).first()
    if gateway is None:
        raise Http404(_("No egress gateway named %(name)s.") % {"name": name[:63]})
    return gateway


def _chosen_gateway(request) -> EgressGateway | None:
    name = (request.GET.get("gateway") or request.POST.get("gateway") or "").strip()
    if name:
        return _gateway(name)
    return EgressGateway.objects.prefetch_related("ports").order_by("name").first()


def discover(request):
    """The page: upload form, the last upload's summary, flows with filters, and a replay when asked."""
    _require_read(request)
    gateway = _chosen_gateway(request)
    context: dict[str, Any] = {}
    if gateway is not None and request.GET.get("replay"):
        context.update(_replay_context(gateway, request.GET["replay"]))
    upload_id = request.GET.get("upload", "")
    if gateway is not None and upload_id.isdigit():
        upload = ObservationUpload.objects.filter(gateway=gateway, pk=int(upload_id)).first()
        if upload is not None:
            context.update(upload=upload, upload_refused=discovery.translated_lines(upload.refused_lines, _))
    return _page(request, gateway, context, status=400 if context.get("replay_error") else 200)


def _page(request, gateway: EgressGateway | None, extra: dict[str, Any], *, status: int = 200):
    filters = _filters(request, gateway)
    refusal = _filter_refusal(filters)
    if refusal is not None:
        extra, status = {"refusal": refusal, **extra}, 400
    rows = discovery.stored_flows(filters) if gateway is not None and refusal is None else None
    policy = discovery.gateway_policy(gateway)
    context = {
        "gateway": gateway,
        "gateways": EgressGateway.objects.order_by("name"),
        "clusters": Cluster.objects.order_by("name"),
        "policy": policy,
        "revisions": _revision_choices(policy),
        "flows": list(rows[:FLOWS_SHOWN]) if rows is not None else [],
        "flow_count": rows.count() if rows is not None else 0,
        "flows_shown": FLOWS_SHOWN,
        "filters": filters,
        "outcome_choices": OUTCOME_CHOICES,
        "max_upload_bytes": discovery.max_upload_bytes(),
        "max_upload_mib": discovery.max_upload_bytes() // (1024 * 1024),
        "retention_days": discovery.retention_days(),
        "recent_uploads": _recent_uploads(gateway),
        "can_upload": request.user.has_perm(discovery.UPLOAD_PERMISSION),
        "can_delete": request.user.has_perm(discovery.DELETE_PERMISSION),
        **extra,
    }
    return render(request, "policies/discover.html", context, status=status)


def _recent_uploads(gateway: EgressGateway | None) -> list[ObservationUpload]:
    if gateway is None:
        return []
    return list(ObservationUpload.objects.filter(gateway=gateway).select_related("uploaded_by", "cluster")[:RECENT])


def _revision_choices(policy: EgressPolicy | None) -> list[tuple[str, int]]:
    if policy is None:
        return []
    return [(f"revision:{n}", n) for n in policy.revisions.order_by("-number").values_list("number", flat=True)[:50]]


def _filters(request, gateway: EgressGateway | None) -> discovery.FlowFilter:
    reached = {"yes": True, "no": False}.get(request.GET.get("reached", ""))
    return discovery.FlowFilter(
        gateway,
        request.GET.get("namespace", "").strip()[:63],
        request.GET.get("host", "").strip()[:255],
        request.GET.get("outcome", "").strip()[:16],
        reached,
    )


class FilterRefused(ServiceError):
    """A flow filter no stored flow can match and the database cannot be asked about (the API's code for it)."""

    code = "null_characters_not_allowed"


def _filter_refusal(filters: discovery.FlowFilter) -> FilterRefused | None:
    for field in ("namespace", "host", "outcome"):
        if "\x00" in getattr(filters, field):
            return FilterRefused(_("A filter cannot contain a NUL character."), path=field)
    return None


def _replay_context(gateway: EgressGateway, against: str) -> dict[str, Any]:
    try:
        result = discovery.replay(gateway, against[:40])
    except ServiceError as exc:
        return {"replay_error": exc, "replay_against": against}
    return {"replay": replay_panel(result), "replay_against": against}


def replay_panel(result: discovery.ReplayResult | None) -> dict[str, Any] | None:
    """What ``includes/replay_panel.html`` draws: counts, then the first broken and newly allowed rows.

    NB: a gateway may have 100,000s of flows; a page draws at most ``REPLAY_ROWS_SHOWN`` of each
    kind (the counts are whole, and the API and ``egress replay`` list every one).
    """
    if result is None:
        return None
    report = result.report
    return {
        "against": result.against,
        "replayed": result.flows,
        "counts": report.counts(),
        "rows_shown": REPLAY_ROWS_SHOWN,
        "broken": [row.as_dict(_) for row in report.broken[:REPLAY_ROWS_SHOWN]],
        "newly_allowed": [row.as_dict(_) for row in report.newly_allowed[:REPLAY_ROWS_SHOWN]],
    }


def review_replay(review, user) -> dict[str, Any] | None:
    """What ``includes/review_replay.html`` draws on a review page for ``user``: None when the gateway has no
    observations or the user may not see observed traffic."""
    if not user.has_perm(READ_PERMISSION):
        return None
    count = ObservedFlow.objects.filter(gateway_id=review.policy.gateway_id).count()
    if count > REVIEW_REPLAY_LIMIT:
        return {"too_many": count}
    return replay_panel(discovery.replay_for_review(review)) if count else None


def review_replay_fragment(request, pk: int):
    """The review page's replay panel, fetched after the page (whose queries stay fixed): 204 when there is none."""
    if not request.user.has_perms(("policies.view_review", READ_PERMISSION)):
        raise PermissionDenied(_("Your role may not see observed traffic."))
    review = Review.objects.select_related("policy", "revision").filter(pk=pk).first()
    if review is None:
        raise Http404(_("No review %(id)d.") % {"id": pk})
    replay = review_replay(review, request.user)
    if replay is None:
        return HttpResponse(status=204)
    return render(request, "policies/includes/review_replay.html", {"review": review, "replay": replay})


# NB: exempt from the global CSRF check only to refuse an oversize body before anything reads it (the CSRF
# check reads the form); the form itself is checked by ``_checked_upload``.
@csrf_exempt
@require_POST
def discover_upload(request):
    """POST the logs; a body over the limit gets the page with its 413 message, read no further."""
    _require_read(request)
    refusal: ServiceError
    try:
        discovery.require_upload_size(_declared_length(request))
        request.POST, request.FILES  # noqa: B018 - reading them parses the body, within Django's limits
    except discovery.UploadTooLarge as exc:
        refusal = exc
    except RequestDataTooBig:
        refusal = discovery.UploadTooLarge(
            _("The pasted text is over %(limit)d bytes and was not read; upload the logs as a file instead.")
            % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        )
    except SuspiciousOperation as exc:  # NB: too many files or fields: Django's own guards
        refusal = discovery.DiscoveryError(str(exc) or _("The form cannot be read."))
    else:
        return _checked_upload(request)
    return _page(request, _chosen_gateway_unread(request), {"refusal": refusal}, status=refusal.status)


def _declared_length(request) -> int:
    try:
        return max(int(request.META.get("CONTENT_LENGTH") or 0), 0)
    except ValueError:
        return 0


def _chosen_gateway_unread(request) -> EgressGateway | None:
    """The page's gateway from the query string only: the body is not read."""
    name = (request.GET.get("gateway") or "").strip()
    return _gateway(name) if name else EgressGateway.objects.prefetch_related("ports").order_by("name").first()


@csrf_protect
def _checked_upload(request):
    gateway = _chosen_gateway(request)
    if gateway is None:
        raise Http404(_("Register an egress gateway first."))
    try:
        result = discovery.ingest(gateway, _logs(request), _sources(request), user=request.user)
    except discovery.NoAccessLog as exc:
        refused_lines = discovery.translated_lines(exc.refused_lines, _)
        return _page(request, gateway, {"refusal": exc, "refused_lines": refused_lines}, status=exc.status)
    except ServiceError as exc:
        return _page(request, gateway, {"refusal": exc}, status=exc.status)
    messages.success(
        request,
        _("Read %(lines)d lines: %(created)d new flows, %(merged)d flows seen again.")
        % {"lines": result.upload.summary.get("lines", 0), "created": result.created, "merged": result.merged},
    )
    query = urlencode({"gateway": gateway.name, "upload": str(result.upload.pk)})
    return redirect(f"{reverse('policies:discover')}?{query}")


def _logs(request) -> list[discovery.LogInput]:
    logs = [discovery.LogInput(f.name or "log", f, f.size or 0) for f in request.FILES.getlist("logs")]
    text = request.POST.get("text", "")
    if text.strip():
        raw = text.encode("utf-8", "surrogatepass")
        logs.append(discovery.LogInput("text", io.BytesIO(raw), len(raw)))
    return logs


def _sources(request) -> discovery.SourceSpec:
    return discovery.SourceSpec(
        pods_document=discovery.read_pod_document(request.FILES.get("pods")),
        cluster=discovery.named_cluster(request.POST.get("cluster", "").strip()),
        namespace=request.POST.get("namespace", "").strip(),
        labels=discovery.parse_labels(request.POST.get("labels", "")),
    )


@require_POST
def discover_propose(request):
    """Propose rules for the checked flows (a diff against the current draft); with ``save``, write the draft."""
    _require_read(request)
    gateway = _chosen_gateway(request)
    if gateway is None:
        raise Http404(_("Register an egress gateway first."))
    ids = [int(value) for value in request.POST.getlist("flow") if value.isdigit()]
    save = request.POST.get("save") == "1"
    version = request.POST.get("draft_version", "")
    try:
        result = discovery.propose(
            gateway,
            ids,
            user=request.user,
            save=save,
            expected_version=int(version) if version.isdigit() else None,
            https_upgrade=request.POST.get("https_upgrade", "1") == "1",
        )
    except ServiceError as exc:
        return _page(request, gateway, {"refusal": exc, "selected": ids}, status=exc.status)
    if save:
        return _saved(request, result)
    return _page(request, gateway, {"proposal": result.as_dict(), "selected": ids})


def _saved(request, result: discovery.ProposalResult):
    data = result.as_dict()
    messages.success(
        request,
        _("The proposal is now the draft of %(policy)s (version %(version)s). Review it, then submit it for review.")
        % {"policy": data["policy"], "version": data["draftVersion"]},
    )
    return redirect("policies:policy-edit", data["policy"])


@require_POST
def discover_delete(request):
    """Delete the gateway's observed flows and uploads (admins)."""
    gateway = _chosen_gateway(request)
    if gateway is None:
        raise Http404(_("Register an egress gateway first."))
    try:
        deleted = discovery.delete_observations(gateway, user=request.user)
    except ServiceError as exc:
        raise PermissionDenied(exc.message) from exc
    messages.success(
        request, _("Deleted %(count)d observed flows of %(gateway)s.") % {"count": deleted, "gateway": gateway.name}
    )
    return redirect(f"{reverse('policies:discover')}?{urlencode({'gateway': gateway.name})}")
