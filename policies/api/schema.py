"""The OpenAPI contract's hand-made parts: the custom resource schema, errors, examples per media type.

The policy body is not a DRF serializer but the ASMEgressTrafficPolicy itself, and its shape
is already defined once, by the pydantic model in ``policies.core.model``. Rather than restate
it, a drf-spectacular post-processing hook publishes the model's own JSON schema (converted
to OpenAPI 3.0: ``anyOf [X, null]`` becomes ``nullable``) under ``components/schemas``, and the
views refer to it by ``$ref``. The same hook copies each operation's examples (see
``policies.api.examples``) to its YAML media types, responses as YAML text.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from drf_spectacular.utils import OpenApiResponse

from policies.core.model import EgressPolicy
from policies.core.yamlio import dump_yaml, dump_yaml_all

POLICY_COMPONENT = "ASMEgressTrafficPolicy"
ERRORS_COMPONENT = "Errors"
POLICY_REF = {"$ref": f"#/components/schemas/{POLICY_COMPONENT}"}
ERRORS_REF = {"$ref": f"#/components/schemas/{ERRORS_COMPONENT}"}

ERROR_DESCRIPTIONS = {
    400: "Invalid body: every validation finding, one entry each.",
    401: "No or invalid credentials (send `Authorization: Token <key>`).",
    403: "Authenticated but not allowed.",
    404: "No such object.",
    409: "Conflicts with existing state (name taken, object in use).",
    412: "If-Match names a stale draft version.",
    413: "Body over 1 MiB, YAML over 256 KiB, or a policy with more than 1,000 sources + destinations.",
    415: "Unsupported Content-Type (use application/json or application/yaml).",
    428: "If-Match is required.",
}

ERRORS_SCHEMA = {
    "type": "object",
    "description": "Every API error: one entry per problem, with a stable code and the JSON path it is about.",
    "required": ["errors"],
    "properties": {
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["code", "path", "message"],
                "properties": {
                    "code": {"type": "string", "example": "EGRESS-V3"},
                    "path": {"type": "string", "example": "metadata.name"},
                    "message": {"type": "string"},
                },
            },
        }
    },
    "example": {"errors": [{"code": "not_found", "path": "", "message": "Not found."}]},
}


def error_responses(*codes: int) -> dict[int, OpenApiResponse]:
    """Documented error responses for an operation (401 and 403 are always possible)."""
    return {code: OpenApiResponse(ERRORS_REF, ERROR_DESCRIPTIONS[code]) for code in sorted({*codes, 401, 403})}


def add_policy_components(result: dict[str, Any], generator: Any, request: Any, public: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: publish the CR and error schemas."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(policy_components())
    schemas[ERRORS_COMPONENT] = ERRORS_SCHEMA
    for operation in _operations(result):
        _spread_examples(operation.get("requestBody", {}).get("content", {}), as_yaml_text=False)
        for code, response in operation.get("responses", {}).items():
            if code.startswith("2"):
                _spread_examples(response.get("content", {}), as_yaml_text=True)
    return result


def _operations(result: dict[str, Any]) -> list[dict[str, Any]]:
    return [operation for methods in result.get("paths", {}).values() for operation in methods.values()]


def _spread_examples(content: dict[str, Any], *, as_yaml_text: bool) -> None:
    """Give every media type of a body the examples drf-spectacular attached to JSON only."""
    source = next((media["examples"] for media in content.values() if media.get("examples")), None)
    if source is None:
        return
    for media_type, media in content.items():
        if not media.get("examples"):
            yaml_text = as_yaml_text and "yaml" in media_type
            media["examples"] = {key: _as_yaml(example) if yaml_text else example for key, example in source.items()}


def _as_yaml(example: dict[str, Any]) -> dict[str, Any]:
    value = example.get("value")
    text = (
        dump_yaml_all(value) if isinstance(value, list) and value and isinstance(value[0], dict) else dump_yaml(value)
    )
    return {**example, "value": text}


@cache
def policy_components() -> dict[str, Any]:
    """The pydantic model's JSON schema as OpenAPI 3.0 components."""
    schema = EgressPolicy.model_json_schema(by_alias=True, ref_template="#/components/schemas/Policy.{model}")
    definitions = schema.pop("$defs", {})
    components = {f"Policy.{name}": _openapi30(value) for name, value in definitions.items()}
    components[POLICY_COMPONENT] = _openapi30(schema)
    return components


def _openapi30(node: Any) -> Any:
    """JSON Schema 2020-12 (pydantic) → OpenAPI 3.0: nullable instead of a null type, no titles."""
    if isinstance(node, list):
        return [_openapi30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _openapi30(value) for key, value in node.items() if key != "title"}
    variants = node.get("anyOf")
    if variants and {"type": "null"} in variants:
        rest = [v for v in variants if v != {"type": "null"}]
        node.pop("anyOf")
        node.update(
            rest[0]
            if len(rest) == 1 and "$ref" not in rest[0]
            else {"allOf": rest}
            if len(rest) == 1
            else {"anyOf": rest}
        )
        node["nullable"] = True
    return node
