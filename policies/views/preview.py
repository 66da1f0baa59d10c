"""The live preview endpoint the editor calls (debounced) on every change."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from policies.core.findings import Severity
from policies.core.size import capped
from policies.fastyaml import fast_dump
from policies.previews import Preview, preview_data, preview_text
from policies.services import MAX_FINDINGS, ServiceError
from policies.views.common import BadRequestError, error_response, findings_json, get_gateway, json_body


@require_POST
def preview(request, gateway_name: str):
    """POST ``{"document": {...}}`` or ``{"text": "..."}`` → CR YAML, Istio YAML, findings, hop lines."""
    gateway = get_gateway(gateway_name)
    try:
        body = json_body(request)
        if isinstance(body.get("text"), str):
            result = preview_text(body["text"], gateway.describe())
        elif "document" in body:
            result = preview_data(body["document"], gateway.describe())
        else:
            raise BadRequestError(_("Send the policy as 'document' (JSON) or 'text' (YAML)."), path="document")
    except ServiceError as exc:
        return error_response(exc)
    return JsonResponse(preview_json(result))


def preview_json(result: Preview, with_objects: bool = True) -> dict[str, Any]:
    """The JSON the editor reads: one answer serves the Form, YAML and Istio objects tabs.

    The Istio YAML stream is the objects' ``yaml`` joined with ``---\\n`` (the export's exact text);
    it is not sent twice. ``findings`` lists the most severe ``MAX_FINDINGS`` (and one counting the
    rest); ``counts`` counts them all.
    """
    objects = [_object_json(obj) for obj in result.objects] if with_objects else []
    return {
        "ok": result.ok,
        "data": result.data,
        "yaml": result.cr_yaml,
        "objects": objects,
        "findings": findings_json(capped(result.findings, MAX_FINDINGS)),
        "hops": {path: line.as_dict() for path, line in result.hops.items()},
        "counts": {level.value: sum(f.severity is level for f in result.findings) for level in Severity},
    }


@lru_cache(maxsize=4096)
def object_yaml(canonical_json: str) -> str:
    """YAML of one Istio object, cached by its JSON: a keystroke changes few of a policy's objects."""
    return fast_dump(json.loads(canonical_json))


def _object_json(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata") or {}
    return {
        "kind": obj.get("kind", ""),
        "name": metadata.get("name", ""),
        "namespace": metadata.get("namespace", ""),
        "yaml": object_yaml(json.dumps(obj, separators=(",", ":"))),
    }
