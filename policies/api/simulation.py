"""Glue between the API and the core simulator: the same answer the CLI prints.

``egress simulate --json`` and ``POST /api/v1/simulate/`` must agree exactly, so both call the
core's ``build_mesh(...).simulate(Request(...)).as_dict()``; this module only picks the gateway
description from the database, validates the custom resources first (each finding's path is
prefixed with the body path ``policies[i]``), and maps the core's input errors to API errors.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from policies import services
from policies.api.errors import ApiError, BodyUnreadableError, ConflictError, FindingsInvalidError
from policies.core.expansion.errors import ExpansionError
from policies.core.findings import has_errors
from policies.core.model import KIND
from policies.core.simulator.request import Request, SimulationInputError
from policies.models import EgressGateway, EgressPolicy


def simulate_objects(validated: dict[str, Any]) -> dict[str, Any]:
    """Simulate the request of a ``SimulationSerializer`` through its ``policies``."""
    objects = validated["policies"]
    _require_valid_policies(objects)
    gateway = _gateway_of(objects)
    return _run(objects, validated, gateway.describe() if gateway else None, BodyUnreadableError)


def simulate_draft(policy: EgressPolicy, validated: dict[str, Any]) -> dict[str, Any]:
    """Simulate the request of a ``PolicySimulationSerializer`` against a policy's draft."""
    return _run([policy.draft.document], validated, policy.gateway.describe(), ConflictError)


def _run(
    objects: list[dict[str, Any]], validated: dict[str, Any], gateway: Any, refusal: type[ApiError]
) -> dict[str, Any]:
    source = validated["source"]
    request = Request(source["namespace"], dict(source["labels"]), validated["url"], validated["method"])
    from policies.core.simulator import build_mesh  # TEMP until the simulator lands

    try:
        mesh = build_mesh(
            objects, mesh_mode=validated["meshMode"], gateway=gateway, settings=services.translation_settings()
        )
    except ExpansionError as exc:
        raise refusal(exc.message, code=exc.code, path=exc.path) from exc
    except SimulationInputError as exc:
        raise BodyUnreadableError(exc.message, code=exc.code, path="policies") from exc
    try:
        return mesh.simulate(request).as_dict()
    except SimulationInputError as exc:
        raise BodyUnreadableError(exc.message, code=exc.code) from exc


def _require_valid_policies(objects: list[dict[str, Any]]) -> None:
    findings = []
    for index, obj in enumerate(objects):
        if obj.get("kind") != KIND:
            continue
        checked = services.check_document(obj)
        if has_errors(checked.findings):
            findings += [replace(f, path=_prefixed(index, f.path)) for f in checked.findings]
    if findings:
        raise FindingsInvalidError(findings)


def _prefixed(index: int, path: str) -> str:
    return f"policies[{index}].{path}" if path else f"policies[{index}]"


def _gateway_of(objects: list[dict[str, Any]]) -> EgressGateway | None:
    names = [obj.get("spec", {}).get("byEgressGateway", {}).get("name") for obj in objects if obj.get("kind") == KIND]
    return EgressGateway.objects.prefetch_related("ports").filter(name__in=[n for n in names if n]).first()
