"""Helpers every console view shares: JSON bodies, JSON answers, lookups with a fixed query count."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _

from policies.core.findings import Finding
from policies.core.yamlio import MAX_DEPTH, json_too_deep, refuse_json_constant
from policies.models import EgressGateway, EgressPolicy
from policies.services import ServiceError


class BadRequestError(ServiceError):
    """The request body is not the JSON object the endpoint expects."""

    code = "EGRESS-E010"


class NestingTooDeep(BadRequestError):
    """The JSON body nests deeper than any policy does (the YAML loader's bound, EGRESS-Y05)."""

    code = "EGRESS-Y05"

    @classmethod
    def over_the_limit(cls) -> NestingTooDeep:
        return cls(_("Nesting is deeper than %(limit)d levels.") % {"limit": MAX_DEPTH})


class PermissionRefused(ServiceError):
    """The signed-in user lacks the model permission the console action needs (as in the API)."""

    code = "EGRESS-E403"
    status = 403


class BodyTooLarge(ServiceError):
    """The request body is over Django's upload limit (the editor sends whole documents as JSON)."""

    code = "EGRESS-E413"
    status = 413


def require_perms(request, *perms: str) -> None:
    """Raise ``PermissionRefused`` unless the user holds every ``app.codename`` permission."""
    if not request.user.has_perms(perms):
        raise PermissionRefused(_("You do not have permission to change egress policies."))


def json_body(request) -> dict[str, Any]:
    """The request's JSON object, or ``BadRequestError`` with a specific message."""
    try:
        raw = request.body
    except RequestDataTooBig as exc:
        raise BodyTooLarge(
            _("The request is over the limit of %(limit)d bytes; nothing was saved.")
            % {"limit": settings.DATA_UPLOAD_MAX_MEMORY_SIZE}
        ) from exc
    try:
        body = json.loads(raw or b"{}", parse_constant=refuse_json_constant)
    except RecursionError as exc:
        raise NestingTooDeep.over_the_limit() from exc
    except ValueError as exc:  # NB: UnicodeDecodeError is a ValueError
        raise BadRequestError(_("The request body is not valid JSON: %(error)s") % {"error": exc}) from exc
    if json_too_deep(raw, body):
        raise NestingTooDeep.over_the_limit()
    if not isinstance(body, dict):
        raise BadRequestError(_("The request body must be a JSON object."))
    return body


def findings_json(findings: list[Finding]) -> list[dict[str, Any]]:
    """Findings rendered in the request's language, ready for the editor."""
    return [f.as_dict(_) for f in findings]


def error_response(exc: ServiceError) -> JsonResponse:
    """A refused workflow verb as JSON: stable code, message, path and findings."""
    body = {"code": exc.code, "message": exc.message, "path": exc.path, "findings": findings_json(exc.findings)}
    return JsonResponse(body, status=exc.status)


def get_gateway(name: str) -> EgressGateway:
    """The gateway with its ports, policy and draft (two queries), or 404."""
    gateway = (
        EgressGateway.objects.select_related("policy__draft__updated_by")
        .prefetch_related("ports")
        .filter(name=name)
        .first()
    )
    if gateway is None:
        raise Http404(_("No egress gateway named %(name)s.") % {"name": name})
    return gateway


def get_policy(name: str) -> EgressPolicy:
    """The policy with its gateway, ports, draft and draft author (two queries), or 404."""
    policy = (
        EgressPolicy.objects.select_related("gateway", "draft", "draft__updated_by")
        .prefetch_related("gateway__ports")
        .filter(name=name)
        .first()
    )
    if policy is None:
        raise Http404(_("No egress policy named %(name)s.") % {"name": name})
    return policy
