"""Stored policies as downloadable YAML: the custom resource, or the Istio objects it becomes."""

from __future__ import annotations

from typing import Any

from policies.core.document import dump_policy
from policies.core.expansion import expand_policy
from policies.core.model import EgressPolicy as PolicyModel
from policies.core.yamlio import dump_yaml_all
from policies.models import EgressGateway
from policies.services import translation_settings


def export_yaml(document: dict[str, Any], gateway: EgressGateway, kind: str) -> str:
    """A stored (hence valid) document as canonical CR YAML (``cr``) or Istio YAML (``istio``)."""
    policy = PolicyModel.model_validate(document)
    if kind == "istio":
        return dump_yaml_all(expand_policy(policy, gateway.describe(), translation_settings()))
    return dump_policy(policy)
