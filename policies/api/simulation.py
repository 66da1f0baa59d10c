"""Glue between the API and the core simulator: the same answer the CLI prints.

``egress simulate --json`` and ``POST /api/v1/simulate/`` must agree exactly, so both end in the
core's ``build_mesh(...).simulate(Request(...)).as_dict()``. The simulator reads Istio objects
only; this module expands every ASMEgressTrafficPolicy of the body first (after validating it,
each finding's path prefixed with its body path ``policies[i]``), picks the gateway description
from the database, and maps the core's input errors to API errors.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from policies import services
from policies.api.errors import ApiError, BodyUnreadableError, ConflictError, FindingsInvalidError
from policies.core.expansion import expand_policy
from policies.core.expansion.errors import ExpansionError
from policies.core.findings import has_errors
from policies.core.gateway import GatewayDescription
from policies.core.model import KIND
from policies.core.model import EgressPolicy as PolicyModel
from policies.core.simulator import Request, SimulationInputError, build_mesh
from policies.models import EgressGateway, EgressPolicy


def simulate_objects(validated: dict[str, Any]) -> dict[str, Any]:
    """Simulate the request of a ``SimulationSerializer`` through its ``policies``."""
    gateway = _gateway_of(validated["policies"])
    objects = _istio_objects(validated["policies"], gateway)
    return _simulate(objects, validated, gateway)


def simulate_draft(policy: EgressPolicy, validated: dict[str, Any]) -> dict[str, Any]:
    """Simulate the request of a ``PolicySimulationSerializer`` against a policy's draft."""
    gateway = policy.gateway.describe()
    model = PolicyModel.model_validate(policy.draft.document)
    return _simulate(_expanded(model, gateway, ConflictError, ""), validated, gateway)


def _simulate(objects: list[dict[str, Any]], validated: dict[str, Any], gateway: GatewayDescription | None) -> Any:
    source = validated["source"]
    request = Request(source["namespace"], dict(source["labels"]), validated["url"], validated["method"])
    try:
        mesh = build_mesh(
            objects, mesh_mode=validated["meshMode"], gateway=gateway, settings=services.translation_settings()
        )
        return mesh.simulate(request).as_dict()
    except SimulationInputError as exc:
        raise BodyUnreadableError(exc.message, code=exc.code) from exc


def _istio_objects(objects: list[dict[str, Any]], gateway: GatewayDescription | None) -> list[dict[str, Any]]:
    """Every object of the body, each custom resource replaced by its (validated) expansion."""
    result: list[dict[str, Any]] = []
    for index, obj in enumerate(objects):
        if obj.get("kind") != KIND:
            result.append(obj)
            continue
        checked = services.check_document(obj)
        if has_errors(checked.findings):
            raise FindingsInvalidError([replace(f, path=_prefixed(index, f.path)) for f in checked.findings])
        result.extend(_expanded(checked.policy, gateway, BodyUnreadableError, _prefixed(index, "")))
    return result


def _expanded(model: PolicyModel, gateway: GatewayDescription | None, refusal: type[ApiError], where: str) -> Any:
    try:
        return expand_policy(model, gateway, services.translation_settings())
    except ExpansionError as exc:
        raise refusal(exc.message, code=exc.code, path=".".join(filter(None, (where, exc.path)))) from exc


def _prefixed(index: int, path: str) -> str:
    return f"policies[{index}].{path}" if path else f"policies[{index}]"


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
