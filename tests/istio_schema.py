"""Test helper: is a generated Istio object valid against Istio 1.30's own CRD schemas?

The expansion emits plain dicts; a typo in a field name or a port out of range would only show
up when the API server rejects the apply. This helper checks every object the way the API
server would, offline: the OpenAPI v3 schema of the object's kind *and* version from Istio's CRDs
(``kubernetes/customresourcedefinitions.gen.yaml`` of the pinned ``istio.io/api`` Go module, see
``testenv/istio_crds.py``), converted to JSON Schema for ``jsonschema``, plus the CRD's CEL rules
(``x-kubernetes-validations``) re-implemented in Python, plus the ObjectMeta rules (DNS-1123
names, label syntax) that the CRD leaves to the API server.

OpenAPI v3 → JSON Schema conversion (what the API server does differently from JSON Schema):

- ``nullable: true`` allows ``null``; ``x-kubernetes-int-or-string`` allows an integer or a string;
- objects with ``properties`` reject unknown fields (the API server's strict field validation),
  unless ``x-kubernetes-preserve-unknown-fields`` is set;
- ``format: int32/int64/uint32`` become numeric bounds; ``integer`` rejects floats and booleans;
- ``x-kubernetes-list-type: set`` means unique items, ``map`` unique ``x-kubernetes-list-map-keys``;
- ``description`` and the other ``x-kubernetes-*`` extensions are ignored.

CEL rules covered (every rule the CRDs declare for ServiceEntry, DestinationRule, Gateway,
VirtualService and AuthorizationPolicy, all versions; ``CEL_CHECKS`` is keyed by the exact rule
text, and a test fails if the CRD file gains a rule of these kinds that is not covered):

- port ranges ``0 < self && self <= 65535`` (ServiceEntry ports, targetPort, endpoint ports);
- ``self != "*"`` (ServiceEntry hosts), wildcard and empty-key rules on selectors and labels;
- unique ServiceEntry port numbers; ServiceEntry resolution/endpoints/addresses rules and the
  unix-socket address rules; endpoint port-name syntax;
- the one-of rules (Gateway TLS credentials, ServiceEntry workloadSelector/endpoints,
  AuthorizationPolicy selector/targetRef/targetRefs, source serviceAccounts vs namespaces);
- ``self.size() == 0`` (no cross-namespace targetRef);
- ``duration(self) >= duration('1ms')`` (Go duration strings in DestinationRule policies).

Skipped: the CEL rules of kinds the expansion never emits (WasmPlugin, Telemetry, Sidecar,
...). Their rule texts are not in ``CEL_CHECKS``; such objects are checked against the schema
only and the skipped rule texts are collected in ``SKIPPED_CEL_RULES``. Istio's admission
webhook checks more than the CRD does (e.g. route destinations); those checks are out of scope.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

import yaml
from jsonschema import Draft202012Validator, ValidationError, validators

from testenv.istio_crds import istio_crd_file

try:
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - the pinned PyYAML wheels ship libyaml
    from yaml import SafeLoader  # type: ignore[assignment]

INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1), "uint32": (0, 2**32 - 1)}
_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SUBDOMAIN = rf"^{_LABEL}(\.{_LABEL})*$"
_LABEL_NAME = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"
_GO_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
SKIPPED_CEL_RULES: set[str] = set()

METADATA_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "namespace"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": _SUBDOMAIN},
        "namespace": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": rf"^{_LABEL}$"},
        "labels": {
            "type": "object",
            "propertyNames": {"pattern": rf"^({_LABEL}(\.{_LABEL})*/)?{_LABEL_NAME}$"},
            "additionalProperties": {"type": "string", "maxLength": 63, "pattern": rf"^({_LABEL_NAME})?$"},
        },
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}


def schema_errors(obj: Any) -> list[str]:
    """Every schema and CEL violation of one Istio object, as ``"path: message"`` lines."""
    if not isinstance(obj, dict):
        return [f"(document): expected a mapping, got {type(obj).__name__}"]
    validator = _validator(str(obj.get("apiVersion")), str(obj.get("kind")))
    if validator is None:
        return [f"apiVersion/kind: no CRD schema for {obj.get('kind')} {obj.get('apiVersion')}"]
    errors = sorted(validator.iter_errors(obj), key=lambda error: list(map(str, error.absolute_path)))
    return [f"{_path(error)}: {error.message}" for error in errors]


def assert_schema_valid(obj: Any) -> None:
    """Fail the test with every violation listed when ``obj`` is not schema-valid."""
    errors = schema_errors(obj)
    name = obj.get("metadata", {}).get("name") if isinstance(obj, dict) else None
    assert not errors, f"{obj.get('kind') if isinstance(obj, dict) else obj} {name} is invalid:\n" + "\n".join(errors)


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(document)"


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """``(apiVersion, kind)`` → the raw OpenAPI v3 schema, loaded once per process."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    with open(istio_crd_file(), "rb") as stream:
        for crd in yaml.load_all(stream, Loader=SafeLoader):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
            for version in crd["spec"]["versions"]:
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


@functools.cache
def _validator(api_version: str, kind: str) -> Any:
    schema = crd_schemas().get((api_version, kind))
    if schema is None:
        return None
    converted = to_json_schema(schema)
    converted["properties"] = {
        "apiVersion": {"const": api_version},
        "kind": {"const": kind},
        "metadata": METADATA_SCHEMA,
        **converted.get("properties", {}),
    }
    converted["required"] = sorted({"apiVersion", "kind", "metadata", *converted.get("required", [])})
    converted["additionalProperties"] = False
    return _KubernetesValidator(converted)


def to_json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """One OpenAPI v3 (Kubernetes structural) schema node → JSON Schema 2020-12."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "properties":
            out[key] = {name: to_json_schema(child) for name, child in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            out[key] = to_json_schema(value)
        elif key in ("oneOf", "anyOf", "allOf"):
            out[key] = [to_json_schema(child) for child in value]
        elif key == "x-kubernetes-validations":
            out["x-cel"] = [rule["rule"] for rule in value]
        elif key == "x-kubernetes-list-type":
            _list_type(out, value, node)
        elif key == "format":
            _format_bounds(out, value, node)
        elif not key.startswith("x-kubernetes-") and key not in ("description", "nullable"):
            out[key] = value
    _finish_node(out, node)
    return out


def _list_type(out: dict[str, Any], list_type: str, node: dict[str, Any]) -> None:
    if list_type == "set":
        out["uniqueItems"] = True
    elif list_type == "map":
        out["x-list-map-keys"] = node.get("x-kubernetes-list-map-keys", [])


def _format_bounds(out: dict[str, Any], fmt: str, node: dict[str, Any]) -> None:
    if fmt in INT_BOUNDS:
        low, high = INT_BOUNDS[fmt]
        out["minimum"] = max(low, node.get("minimum", low))
        out["maximum"] = min(high, node.get("maximum", high))


def _finish_node(out: dict[str, Any], node: dict[str, Any]) -> None:
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False


def _is_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


def _cel_keyword(_validator: Any, rules: list[str], instance: Any, _schema: Any) -> Iterator[ValidationError]:
    for rule in rules:
        check = CEL_CHECKS.get(rule)
        if check is None:
            SKIPPED_CEL_RULES.add(rule)
        elif not _passes(check, instance):
            yield ValidationError(f"violates CEL rule {rule!r}")


def _passes(check: Callable[[Any], bool], instance: Any) -> bool:
    try:
        return check(instance)
    except (TypeError, AttributeError):
        return True  # NB: a value of the wrong type is already reported by the schema's "type"


def _list_map_keys_keyword(_validator: Any, keys: list[str], instance: Any, _schema: Any) -> Iterator[ValidationError]:
    if not isinstance(instance, list):
        return
    seen: set[tuple[Any, ...]] = set()
    for item in instance:
        key = tuple(repr(item.get(name)) if isinstance(item, dict) else None for name in keys)
        if key in seen:
            yield ValidationError(f"duplicate entries for list-map key {dict(zip(keys, key, strict=True))}")
        seen.add(key)


_KubernetesValidator = validators.extend(
    Draft202012Validator,
    validators={"x-cel": _cel_keyword, "x-list-map-keys": _list_map_keys_keyword},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine("integer", _is_integer),
)


def _has(obj: Any, field: str) -> bool:
    return isinstance(obj, dict) and field in obj


def _get(obj: Any, field: str, default: Any) -> Any:
    return obj.get(field, default) if isinstance(obj, dict) else default


def _one_of_at_most(*fields: str) -> Callable[[Any], bool]:
    return lambda obj: sum(_has(obj, field) for field in fields) <= 1


def _go_duration_seconds(text: Any) -> float | None:
    """A Go ``time.Duration`` string in seconds (e.g. ``1h2m0.5s``), or ``None`` when malformed."""
    if not isinstance(text, str) or not text:
        return None
    sign, body = (-1.0, text[1:]) if text[:1] == "-" else (1.0, text.lstrip("+"))
    if body == "0":
        return 0.0
    parts = _GO_DURATION_PART.findall(body)
    if not parts or "".join(number + unit for number, unit in parts) != body:
        return None
    return sign * sum(float(number) * _GO_DURATION_UNITS[unit] for number, unit in parts)


def _at_least_1ms(value: Any) -> bool:
    seconds = _go_duration_seconds(value)
    return seconds is not None and seconds >= 1e-3


def _port_in_range(value: Any) -> bool:
    return not _is_integer(None, value) or 0 < value <= 65535


def _unique_port_numbers(ports: Any) -> bool:
    numbers = [_get(port, "number", None) for port in ports]
    return len(numbers) == len(set(map(repr, numbers)))


def _uds_path_ok(address: Any) -> bool:
    return not address.startswith("unix://") or address[7:8] in ("/", "@")


def _endpoint_port_names_ok(ports: Any) -> bool:
    pattern = re.compile(r"^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$")
    return all(len(key) < 63 and pattern.match(key) for key in ports)


def _cidr_needs_static(spec: Any) -> bool:
    has_cidr = any("/" in address for address in _get(spec, "addresses", []))
    return not (has_cidr and _get(spec, "resolution", "NONE") not in ("STATIC", "NONE"))


def _service_accounts_alone(source: Any) -> bool:
    if not (_has(source, "serviceAccounts") or _has(source, "notServiceAccounts")):
        return True
    return not any(_has(source, f) for f in ("principals", "notPrincipals", "namespaces", "notNamespaces"))


CEL_CHECKS: dict[str, Callable[[Any], bool]] = {
    "0 < self && self <= 65535": _port_in_range,
    'self != "*"': lambda host: host != "*",
    '!self.contains("*")': lambda text: "*" not in text,
    'self.all(key, !key.contains("*"))': lambda mapping: all("*" not in key for key in mapping),
    "self.all(key, key.size() != 0)": lambda mapping: all(len(key) != 0 for key in mapping),
    'self.all(key, size(key) < 63 && key.matches("^[a-zA-Z0-9](?:[-a-zA-Z0-9]*[a-zA-Z0-9])?$"))': (
        _endpoint_port_names_ok
    ),
    "self.all(l1, self.exists_one(l2, l1.number == l2.number))": _unique_port_numbers,
    "self.size() == 0": lambda value: len(value) == 0,
    "duration(self) >= duration('1ms')": _at_least_1ms,
    "has(self.address) || has(self.network)": lambda endpoint: _has(endpoint, "address") or _has(endpoint, "network"),
    "(has(self.credentialName) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1": _one_of_at_most(
        "credentialName", "credentialNames"
    ),
    "(has(self.credentialNames) ? 1 : 0) + (has(self.tlsCertificates) ? 1 : 0) <= 1": _one_of_at_most(
        "credentialNames", "tlsCertificates"
    ),
    "(has(self.tlsCertificates) ? 1 : 0) + (has(self.credentialNames) ? 1 : 0) <= 1": _one_of_at_most(
        "tlsCertificates", "credentialNames"
    ),
    "(has(self.workloadSelector) ? 1 : 0) + (has(self.endpoints) ? 1 : 0) <= 1": _one_of_at_most(
        "workloadSelector", "endpoints"
    ),
    "(has(self.selector) ? 1 : 0) + (has(self.targetRef) ? 1 : 0) + (has(self.targetRefs) ? 1 : 0) <= 1": (
        _one_of_at_most("selector", "targetRef", "targetRefs")
    ),
    '!((has(self.addresses) ? self.addresses : []).exists(k, k.contains("/")) && '
    '!((has(self.resolution) ? self.resolution : "NONE") in ["STATIC", "NONE"]))': _cidr_needs_static,
    '((has(self.resolution) ? self.resolution : "") == "DNS_ROUND_ROBIN") ? '
    "((has(self.endpoints) ? self.endpoints : []).size() <= 1) : true": lambda spec: (
        _get(spec, "resolution", "") != "DNS_ROUND_ROBIN" or len(_get(spec, "endpoints", [])) <= 1
    ),
    '((has(self.resolution) ? self.resolution : "NONE") == "NONE") ? !has(self.endpoints) : true': lambda spec: (
        _get(spec, "resolution", "NONE") != "NONE" or not _has(spec, "endpoints")
    ),
    '(has(self.address) ? self.address : "").startsWith("unix://") ? !has(self.ports) : true': lambda endpoint: (
        not _get(endpoint, "address", "").startswith("unix://") or not _has(endpoint, "ports")
    ),
    'self.startsWith("unix://") ? (self.substring(7, 8) == "/" || self.substring(7, 8) == "@") : true': (_uds_path_ok),
    'self.startsWith("unix://") ? !self.endsWith("/") : true': lambda address: (
        not address.startswith("unix://") or not address.endswith("/")
    ),
    "(has(self.serviceAccounts) || has(self.notServiceAccounts)) ? (!has(self.principals) &&\n"
    "!has(self.notPrincipals) && !has(self.namespaces) && !has(self.notNamespaces)) : true": _service_accounts_alone,
}
