"""Glue between the API and the core simulator: the same answer the CLI prints.

``egress simulate --json`` and ``POST /api/v1/simulate/`` must agree exactly, so both end in the
core's ``build_mesh(...).simulate(Request(...)).as_dict()``. The simulator reads Istio objects
only; ``policies.api.rendering.simulation_mesh`` validates and expands every ASMEgressTrafficPolicy
first. This module picks the gateway description from the database and maps refusals to API
errors, each finding's path prefixed with its body path ``policies[i]``.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from django.utils.translation import gettext as _

from policies import services
from policies.api.errors import ApiError, BodyUnreadableError, ConflictError, FindingsInvalidError
from policies.api.parsers import mapping_body
from policies.api.rendering import PolicyObjectRefusedError, canonical_json, simulation_mesh
from policies.api.serializers import PolicySimulationSerializer
from policies.clusters import cluster_mesh
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.model import KIND
from policies.core.simulator import Request, SimulationInputError
from policies.selectors import DraftSnapshot, gateway_description
from policies.simulation import INPUT_FIELDS

CACHED_QUERIES = 256
_QUERIES: dict[tuple[type, str, bytes], SimulationQuery] = {}
_QUERIES_LOCK = threading.Lock()


@dataclass(frozen=True)
class SimulationQuery:
    """A validated simulation body as immutable values: the request, the mode and the objects.

    It depends on the body alone, so ``simulation_query`` computes it once per distinct body;
    everything read from the database (gateways, drafts) is looked up on every request.
    """

    namespace: str
    labels: tuple[tuple[str, str], ...]
    url: str
    method: str
    mesh_mode: str
    objects_json: str = "[]"
    gateway_names: tuple[str, ...] = ()
    cluster: str = ""
    cluster_objects_json: str = "[]"  # NB: the named cluster's Sidecars, simulated beside the body's objects

    def request(self) -> Request:
        """The simulator's request."""
        return Request(self.namespace, dict(self.labels), self.url, self.method)


def simulation_query(serializer_class: type[PolicySimulationSerializer], request: Any) -> SimulationQuery:
    """The request body validated by its serializer (400 when invalid), memoised by the body's bytes.

    Parsing and validating depend on nothing but the body and its media type, and cost more
    than the rest of a cached simulation, so the result is kept per process under the body's
    SHA-256 digest; a body that differs by one byte is parsed and validated afresh, and a
    refused body is never kept.
    """
    key = (serializer_class, request.content_type, hashlib.sha256(request.body).digest())
    with _QUERIES_LOCK:
        query = _QUERIES.get(key)
    if query is None:
        query = _validated_query(serializer_class, mapping_body(request))
        with _QUERIES_LOCK:
            _QUERIES[key] = query
            if len(_QUERIES) > CACHED_QUERIES:
                del _QUERIES[next(iter(_QUERIES))]
    # NB: a named cluster's mode and Sidecars are the database's, so they are read per request, never memoised
    # with the body.
    if not query.cluster:
        return query
    mesh = cluster_mesh(query.cluster)
    return replace(query, mesh_mode=mesh.mode, cluster_objects_json=canonical_json(list(mesh.sidecars)))


def _validated_query(serializer_class: type[PolicySimulationSerializer], body: dict[str, Any]) -> SimulationQuery:
    serializer = serializer_class(data=body)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    objects = data.get("policies", [])
    services.require_answerable(*objects, path="policies")
    try:
        objects_json = canonical_json(objects)
    except (TypeError, ValueError) as exc:
        raise BodyUnreadableError(
            _("The policies must be plain JSON data (a YAML date or binary value is not)."), path="policies"
        ) from exc
    return SimulationQuery(
        namespace=data["source"]["namespace"],
        labels=tuple(data["source"]["labels"].items()),
        url=data["url"],
        method=data["method"],
        mesh_mode=data["meshMode"],
        objects_json=objects_json,
        gateway_names=tuple(name for name in map(_gateway_name, objects) if name is not None),
        cluster=data.get("cluster", ""),
    )


def simulate_objects(query: SimulationQuery) -> dict[str, Any]:
    """Simulate a ``POST /simulate/`` query through its objects, against the gateway they name."""
    try:
        return _simulate(query, query.objects_json, _gateway_of(query.gateway_names))
    except PolicyObjectRefusedError as exc:
        raise _refusal(exc, f"policies[{exc.index}]", BodyUnreadableError) from exc


def simulate_draft(draft: DraftSnapshot, query: SimulationQuery) -> dict[str, Any]:
    """Simulate a ``POST /policies/{id}/simulate/`` query against a policy's draft."""
    try:
        return _simulate(query, f"[{draft.document_json}]", draft.gateway)
    except PolicyObjectRefusedError as exc:
        # NB: a stored draft was valid when saved; a refusal means the gateway changed since.
        raise _refusal(exc, "", ConflictError) from exc


def _simulate(query: SimulationQuery, objects_json: str, gateway: GatewayDescription | None) -> dict[str, Any]:
    result = _simulated(query, objects_json, gateway, services.translation_settings())
    return {**result, "hops": list(result["hops"])}


@lru_cache(maxsize=CACHED_QUERIES)
def _simulated(
    query: SimulationQuery, objects_json: str, gateway: GatewayDescription | None, settings: TranslationSettings
) -> dict[str, Any]:
    """The simulator's answer, memoised: it depends on nothing but these arguments' values."""
    try:
        mesh = simulation_mesh(_joined(objects_json, query.cluster_objects_json), query.mesh_mode, gateway, settings)
        return mesh.simulate(query.request()).as_dict()
    except SimulationInputError as exc:
        message = _(exc.template).format(**exc.params)
        raise BodyUnreadableError(message, code=exc.code, path=INPUT_FIELDS.get(exc.code, "")) from exc


def _joined(objects_json: str, extra_json: str) -> str:
    """Two JSON lists as one, the extra objects last so a refused custom resource keeps its ``policies[i]`` index."""
    if extra_json == "[]":
        return objects_json
    if objects_json == "[]":
        return extra_json
    return f"{objects_json[:-1]},{extra_json[1:]}"


def _refusal(exc: PolicyObjectRefusedError, where: str, kind: type[ApiError]) -> ApiError:
    if exc.expansion is not None:
        path = ".".join(filter(None, (where, exc.expansion.path)))
        return kind(exc.expansion.message, code=exc.expansion.code, path=path)
    findings = [replace(f, path=".".join(filter(None, (where, f.path)))) for f in exc.findings]
    if kind is BodyUnreadableError:
        return FindingsInvalidError(findings)
    first = next(f for f in findings if f.severity == "error")
    return kind(first.message, code=first.code, path=first.path)


def _gateway_of(names: tuple[str, ...]) -> GatewayDescription | None:
    """The first stored gateway a custom resource names (None when none is known)."""
    for name in names:
        gateway = gateway_description(name)
        if gateway is not None:
            return gateway
    return None


def _gateway_name(obj: dict[str, Any]) -> str | None:
    """The gateway a custom resource names (None for other objects or when it names none)."""
    if obj.get("kind") != KIND:
        return None
    spec = obj.get("spec")
    ref = spec.get("byEgressGateway") if isinstance(spec, dict) else None
    name = ref.get("name") if isinstance(ref, dict) else None
    return name if isinstance(name, str) else None
