"""Simulate tab endpoints: one request, or the whole reachability matrix, of the editor's document."""

from __future__ import annotations

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from policies.clusters import ClusterMesh, cluster_mesh
from policies.core.simulator import MESH_MODES, Request
from policies.services import ServiceError
from policies.simulation import METHODS, simulate_request
from policies.simulation import reachability as reachability_of
from policies.views.common import BadRequestError, error_response, get_gateway, json_body


@require_POST
def simulate(request, gateway_name: str):
    """POST ``{document, namespace, labels: {k: v}, url, method, cluster | meshMode}`` → status, upstream, hops."""
    gateway = get_gateway(gateway_name)
    try:
        body = json_body(request)
        mesh = mesh_choice(body)
        result = simulate_request(body.get("document"), gateway.describe(), _request(body), mesh.mode, mesh.sidecars)
    except ServiceError as exc:
        return error_response(exc)
    return JsonResponse(result)


@require_POST
def reachability(request, gateway_name: str):
    """POST ``{document, cluster | meshMode}`` → the policy's sources × URLs with the status each request gets."""
    gateway = get_gateway(gateway_name)
    try:
        body = json_body(request)
        mesh = mesh_choice(body)
        result = reachability_of(body.get("document"), gateway.describe(), mesh.mode, mesh.sidecars)
    except ServiceError as exc:
        return error_response(exc)
    return JsonResponse(result)


def _request(body: dict) -> Request:
    namespace, url = str(body.get("namespace") or "").strip(), str(body.get("url") or "").strip()
    labels, method = body.get("labels") or {}, str(body.get("method") or "GET").upper()
    if not namespace:
        raise BadRequestError(_("Name the source namespace."), path="namespace")
    if not url.startswith(("http://", "https://")):
        raise BadRequestError(_("The URL must start with http:// or https://."), path="url")
    if method not in METHODS:
        raise BadRequestError(_("Unknown HTTP method %(method)s.") % {"method": method}, path="method")
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise BadRequestError(_("Labels must be a JSON object of strings."), path="labels")
    return Request(source_namespace=namespace, source_labels=labels, url=url, method=method)


def mesh_choice(body: dict) -> ClusterMesh:
    """The mesh to simulate in: the named cluster's mode and Sidecars as its last check read them, else ``meshMode``."""
    name = str(body.get("cluster") or "").strip()
    if not name:
        mode = str(body.get("meshMode") or "REGISTRY_ONLY")
        if mode not in MESH_MODES:
            raise BadRequestError(_("Use REGISTRY_ONLY or ALLOW_ANY."), path="meshMode")
        return ClusterMesh(mode)
    return cluster_mesh(name)
