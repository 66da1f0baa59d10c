"""Glue between the API and the core simulator: the same answer the CLI prints.

``egress simulate --json`` and ``POST /api/v1/simulate/`` must agree exactly, so both end in the
core's ``build_mesh(...).simulate(Request(...)).as_dict()``. The simulator reads Istio objects
only; ``policies.api.rendering.simulation_mesh`` validates and expands every ASMEgressTrafficPolicy
first. This module picks the gateway description from the database and maps refusals to API
errors, each finding's path prefixed with its body path ``policies[i]``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from policies import services
from policies.api.errors import ApiError, BodyUnreadableError, ConflictError, FindingsInvalidError
from policies.api.rendering import PolicyObjectRefusedError, simulation_mesh
from policies.core.gateway import GatewayDescription
from policies.core.model import KIND
from policies.core.simulator import Request, SimulationInputError
from policies.models import EgressGateway, EgressPolicy


def simulate_objects(validated: dict[str, Any]) -> dict[str, Any]:
    """Simulate the request of a ``SimulationSerializer`` through its ``policies``."""
    try:
        return _simulate(validated["policies"], validated, _gateway_of(validated["policies"]))
    except PolicyObjectRefusedError as exc:
        raise _refusal(exc, f"policies[{exc.index}]", BodyUnreadableError) from exc


def simulate_draft(policy: EgressPolicy, validated: dict[str, Any]) -> dict[str, Any]:
    """Simulate the request of a ``PolicySimulationSerializer`` against a policy's draft."""
    try:
        return _simulate([policy.draft.document], validated, policy.gateway.describe())
    except PolicyObjectRefusedError as exc:
        # NB: a stored draft was valid when saved; a refusal means the gateway changed since.
        raise _refusal(exc, "", ConflictError) from exc


def _simulate(objects: list[dict[str, Any]], validated: dict[str, Any], gateway: GatewayDescription | None) -> Any:
    source = validated["source"]
    request = Request(source["namespace"], dict(source["labels"]), validated["url"], validated["method"])
    try:
        mesh = simulation_mesh(objects, validated["meshMode"], gateway, services.translation_settings())
        return mesh.simulate(request).as_dict()
    except SimulationInputError as exc:
        raise BodyUnreadableError(exc.message, code=exc.code) from exc


def _refusal(exc: PolicyObjectRefusedError, where: str, kind: type[ApiError]) -> ApiError:
    if exc.expansion is not None:
        path = ".".join(filter(None, (where, exc.expansion.path)))
        return kind(exc.expansion.message, code=exc.expansion.code, path=path)
    findings = [replace(f, path=".".join(filter(None, (where, f.path)))) for f in exc.findings]
    if kind is BodyUnreadableError:
        return FindingsInvalidError(findings)
    first = next(f for f in findings if f.severity == "error")
    return kind(first.message, code=first.code, path=first.path)


def _gateway_of(objects: list[dict[str, Any]]) -> GatewayDescription | None:
    """The stored gateway the first custom resource names (the seed's gateway when none is known)."""
    for obj in objects:
        name = _gateway_name(obj) if obj.get("kind") == KIND else None
        gateway = EgressGateway.objects.prefetch_related("ports").filter(name=name).first() if name else None
        if gateway is not None:
            return gateway.describe()
    return None


def _gateway_name(obj: dict[str, Any]) -> str | None:
    spec = obj.get("spec")
    ref = spec.get("byEgressGateway") if isinstance(spec, dict) else None
    name = ref.get("name") if isinstance(ref, dict) else None
    return name if isinstance(name, str) else None
