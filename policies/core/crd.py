"""The CustomResourceDefinition of ASMEgressTrafficPolicy, generated from the pydantic model.

A cluster without ASM (a test control plane, a plain Istio mesh) needs the CRD so that it can
store policies. Writing the schema by hand would let it drift from the model, so it is derived
from ``EgressPolicy.model_json_schema()`` and converted into a Kubernetes *structural* schema:
``$ref`` inlined, ``anyOf: [X, null]`` reduced to ``X`` (the API server prunes nulls), every node
typed, maps as ``additionalProperties``, and ``x-kubernetes-preserve-unknown-fields`` only on
``status`` (ASM's controller may add fields there). Semantic limits stay in validation; the
CRD only describes shapes, exactly like the model.
"""

from __future__ import annotations

from typing import Any

from policies.core.model import GROUP, KIND, EgressPolicy

PLURAL = "asmegresstrafficpolicies"
VERSIONS = (("v1", True), ("v1beta1", False))  # (name, storage): both served, v1 stores.
PRINTER_COLUMNS = (
    {"name": "ByEgressGateway", "type": "string", "jsonPath": ".spec.byEgressGateway.name"},
    {"name": "status", "type": "string", "jsonPath": ".status.message"},
    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
)
_KEPT_KEYWORDS = ("type", "description", "format", "enum", "minimum", "maximum", "minItems", "maxItems")


def crd_manifest() -> dict[str, Any]:
    """The apiextensions.k8s.io/v1 CustomResourceDefinition for ASMEgressTrafficPolicy.

    Returns:
        Plain data ready for ``dump_yaml`` or a Kubernetes client: v1 (storage) and v1beta1 served,
        the status subresource, and the printer columns of ASM's own CRD.
    """
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{PLURAL}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "names": {"kind": KIND, "listKind": f"{KIND}List", "plural": PLURAL, "singular": KIND.lower()},
            "scope": "Namespaced",
            # NB: a fresh schema per version, so that YAML dumps carry no anchors/aliases.
            "versions": [_version(name, storage, openapi_schema()) for name, storage in VERSIONS],
        },
    }


def _version(name: str, storage: bool, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "served": True,
        "storage": storage,
        "schema": {"openAPIV3Schema": schema},
        "subresources": {"status": {}},
        "additionalPrinterColumns": [dict(column) for column in PRINTER_COLUMNS],
    }


def openapi_schema() -> dict[str, Any]:
    """The structural OpenAPI v3 schema of the whole object (apiVersion, kind, metadata, spec, status)."""
    source = EgressPolicy.model_json_schema(by_alias=True, mode="validation")
    schema = _StructuralConverter(source.get("$defs", {})).convert(source)
    # NB: the API server owns metadata's schema; a CRD may only say that it is an object.
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


class _StructuralConverter:
    """Walks a pydantic JSON schema and emits a Kubernetes structural schema."""

    def __init__(self, definitions: dict[str, Any]) -> None:
        self._definitions = definitions

    def convert(self, node: dict[str, Any]) -> dict[str, Any]:
        node = self._resolved(node)
        result = {key: node[key] for key in _KEPT_KEYWORDS if key in node}
        if node.get("type") == "array":
            result["items"] = self.convert(node.get("items", {}))
        if node.get("type") == "object":
            result.update(self._object_parts(node))
        return result

    def _resolved(self, node: dict[str, Any]) -> dict[str, Any]:
        """Inline ``$ref`` and drop the ``null`` branch of ``anyOf``, keeping the outer description."""
        outer_description = node.get("description")
        while "$ref" in node or "anyOf" in node:
            if "$ref" in node:
                node = {**self._definitions[node["$ref"].rsplit("/", 1)[-1]], **_without(node, "$ref")}
            else:
                branches = [branch for branch in node["anyOf"] if branch.get("type") != "null"]
                if len(branches) != 1:
                    raise ValueError(f"cannot express a union of {len(branches)} types structurally")
                node = {**branches[0], **_without(node, "anyOf")}
        return {**node, "description": outer_description} if outer_description else node

    def _object_parts(self, node: dict[str, Any]) -> dict[str, Any]:
        parts: dict[str, Any] = {}
        if "properties" in node:
            parts["properties"] = {name: self.convert(child) for name, child in node["properties"].items()}
            if node.get("additionalProperties") is True:
                parts["x-kubernetes-preserve-unknown-fields"] = True
        elif isinstance(node.get("additionalProperties"), dict):
            parts["additionalProperties"] = self.convert(node["additionalProperties"])
        else:
            parts["x-kubernetes-preserve-unknown-fields"] = True  # NB: a free-form object, e.g. Any.
        return parts


def _without(node: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in node.items() if k not in (key, "default", "title")}
