"""Rendered output cached by content: manifests and simulator meshes of unchanged inputs.

Automation polls: CI jobs fetch the same draft's manifests and ask the same "is this reachable?"
again and again. Rendering a 50-target policy's Istio YAML takes tens of milliseconds and
building a simulator mesh a few, so both are cached per process, keyed by the canonical JSON of
everything they depend on (the document, the gateway description, the translation settings),
never by an id or a version number that could be reused: a changed input is a different key,
so a cached answer can never be stale. Errors are raised, hence never cached.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from policies.core.document import dump_policy
from policies.core.expansion import ExpansionError, expand_policy
from policies.core.findings import Finding, has_errors
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.model import KIND
from policies.core.model import EgressPolicy as PolicyModel
from policies.core.simulator import Mesh, build_mesh
from policies.core.validation import check_policy_data
from policies.core.yamlio import dump_yaml_all

CACHED_RENDERINGS = 128


def canonical_json(data: Any) -> str:
    """A stable text key for plain data (sorted keys, no whitespace)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def manifest_yaml(document_json: str, target: str, gateway: GatewayDescription, settings: TranslationSettings) -> str:
    """The draft as YAML: the canonical CR (``asm``) or its Istio objects in apply order (``istio``).

    ``document_json`` is the CR as JSON text, as stored (``policies.selectors``) or from
    ``canonical_json``; equal texts are equal documents, which is all the cache key needs.

    Raises:
        ExpansionError: the document cannot be expanded against this gateway.
    """
    return _manifest_yaml(document_json, target, gateway.model_dump_json(), settings.model_dump_json())


@lru_cache(maxsize=CACHED_RENDERINGS)
def _manifest_yaml(document_json: str, target: str, gateway_json: str, settings_json: str) -> str:
    model = PolicyModel.model_validate(json.loads(document_json))
    if target == "asm":
        return dump_policy(model)
    gateway = GatewayDescription.model_validate_json(gateway_json)
    return dump_yaml_all(expand_policy(model, gateway, TranslationSettings.model_validate_json(settings_json)))


class PolicyObjectRefusedError(Exception):
    """Custom resource number ``index`` of a simulation has errors or cannot be expanded."""

    def __init__(self, index: int, findings: list[Finding], expansion: ExpansionError | None = None) -> None:
        super().__init__(f"object {index} refused")
        self.index = index
        self.findings = findings
        self.expansion = expansion


def simulation_mesh(
    objects_json: str, mesh_mode: str, gateway: GatewayDescription | None, settings: TranslationSettings
) -> Mesh:
    """The simulator's mesh over custom resources (validated, expanded) and Istio objects.

    ``objects_json`` is the JSON text of the list of objects (see ``manifest_yaml``).

    Raises:
        PolicyObjectRefusedError: a custom resource has errors or cannot be expanded.
        SimulationInputError: an object the simulator cannot read, or an unknown mesh mode.
    """
    gateway_json = gateway.model_dump_json() if gateway is not None else ""
    return _simulation_mesh(objects_json, mesh_mode, gateway_json, settings.model_dump_json())


@lru_cache(maxsize=CACHED_RENDERINGS)
def _simulation_mesh(objects_json: str, mesh_mode: str, gateway_json: str, settings_json: str) -> Mesh:
    gateway = GatewayDescription.model_validate_json(gateway_json) if gateway_json else None
    settings = TranslationSettings.model_validate_json(settings_json)
    istio: list[dict[str, Any]] = []
    for index, obj in enumerate(json.loads(objects_json)):
        istio.extend(_expanded(index, obj, gateway, settings) if obj.get("kind") == KIND else [obj])
    return build_mesh(istio, mesh_mode=mesh_mode, gateway=gateway, settings=settings)


def _expanded(
    index: int, document: dict[str, Any], gateway: GatewayDescription | None, settings: TranslationSettings
) -> list[dict[str, Any]]:
    parsed = check_policy_data(document, gateway, settings)
    if parsed.policy is None or has_errors(parsed.findings):
        raise PolicyObjectRefusedError(index, parsed.findings)
    try:
        return expand_policy(parsed.policy, gateway, settings)
    except ExpansionError as exc:
        raise PolicyObjectRefusedError(index, [], exc) from exc
