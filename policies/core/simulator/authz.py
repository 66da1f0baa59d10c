"""AuthorizationPolicies at the egress gateway: DENY first, then ALLOW.

The gateway terminates the sidecar's mesh mTLS, so the source namespace and principal are
known there. On HTTP chains a denial is a 403 ``RBAC: access denied``; on TLS/TCP chains the
connection is closed. On those L4 chains HTTP-only fields (hosts, methods, paths, request
principals, ``request.*`` conditions) cannot be evaluated: Istio drops them from DENY rules,
which widens the rule, and ignores ALLOW rules that use them, which matches nothing (Istio task
"Authorization on TCP traffic").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies.core.simulator.fields import as_list, as_map, as_str, as_str_list, as_str_map, check_known, not_modelled

ROOT_NAMESPACE = "istio-system"
_SOURCE_FIELDS = {
    "principals": "principal",
    "requestPrincipals": "request_principal",
    "namespaces": "namespace",
    "serviceAccounts": "service_account",
}
_OPERATION_FIELDS = {"hosts": "host", "ports": "port", "methods": "method", "paths": "path"}
_HTTP_ONLY = frozenset({"requestPrincipals", "hosts", "methods", "paths"})
_WHEN_KEYS = {
    "source.namespace": "namespace",
    "source.principal": "principal",
    "destination.port": "port",
    "connection.sni": "sni",
}


@dataclass(frozen=True, slots=True)
class AuthzRequest:
    """What the gateway's RBAC filter knows about a request or connection."""

    namespace: str | None
    principal: str | None
    service_account: str | None
    port: str
    sni: str | None
    host: str | None = None
    method: str | None = None
    path: str | None = None
    request_principal: str | None = None
    request_attribute: str | None = None  # headers, JWT claims: simulated requests carry none


@dataclass(frozen=True, slots=True)
class Condition:
    """One attribute test: ``attribute`` must match ``values`` and must not match ``not_values``."""

    field: str
    attribute: str
    values: tuple[str, ...]
    not_values: tuple[str, ...]
    http_only: bool = False

    def holds(self, request: AuthzRequest) -> bool:
        """Istio semantics: an absent value fails a positive test and passes a negative one."""
        value = getattr(request, self.attribute)
        ignore_case = self.attribute == "host"
        if self.values and (value is None or not _any_value(self.values, value, ignore_case)):
            return False
        return value is None or not _any_value(self.not_values, value, ignore_case)


def _any_value(patterns: tuple[str, ...], value: str, ignore_case: bool) -> bool:
    if ignore_case:
        value = value.lower()
    for pattern in patterns:
        pattern = pattern.lower() if ignore_case else pattern
        if pattern == "*" or pattern == value:
            return True
        if pattern.endswith("*") and value.startswith(pattern[:-1]):
            return True
        if pattern.startswith("*") and value.endswith(pattern[1:]):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Rule:
    """``from`` (any source), ``to`` (any operation) and ``when`` (all conditions)."""

    sources: tuple[tuple[Condition, ...], ...]
    operations: tuple[tuple[Condition, ...], ...]
    when: tuple[Condition, ...]

    def http_only_fields(self) -> list[str]:
        """Names of the HTTP-only fields this rule uses, in first-seen order."""
        names = [c.field for group in (*self.sources, *self.operations, self.when) for c in group if c.http_only]
        return list(dict.fromkeys(names))

    def matches(self, request: AuthzRequest, l4: bool) -> bool:
        """Whether the rule matches; on L4 chains HTTP-only conditions are left out."""
        return (
            _any_group(self.sources, request, l4)
            and _any_group(self.operations, request, l4)
            and all(c.holds(request) for c in self.when if not (l4 and c.http_only))
        )


def _any_group(groups: tuple[tuple[Condition, ...], ...], request: AuthzRequest, l4: bool) -> bool:
    if not groups:
        return True
    return any(all(c.holds(request) for c in group if not (l4 and c.http_only)) for group in groups)


@dataclass(frozen=True, slots=True)
class AuthorizationPolicyRecord:
    """An ALLOW or DENY AuthorizationPolicy that may apply to the gateway pods."""

    ref: str
    namespace: str
    selector: dict[str, str]
    action: str
    rules: tuple[Rule, ...]

    def applies_to(self, namespace: str, labels: dict[str, str]) -> bool:
        """Selector ⊆ pod labels, in the pods' namespace or the mesh root namespace."""
        in_scope = self.namespace in (namespace, ROOT_NAMESPACE)
        return in_scope and all(labels.get(k) == v for k, v in self.selector.items())

    def matching_rule(self, request: AuthzRequest, l4: bool) -> Rule | None:
        """The first rule that matches; on L4 chains ALLOW rules with HTTP-only fields never match."""
        for rule in self.rules:
            if l4 and self.action == "ALLOW" and rule.http_only_fields():
                continue
            if rule.matches(request, l4):
                return rule
        return None


def read_authorization_policy(ref: str, namespace: str, spec: dict[str, Any]) -> AuthorizationPolicyRecord:
    """An AuthorizationPolicy spec as a record."""
    check_known(spec, frozenset({"selector", "action", "rules"}), ref, "spec")
    action = as_str(spec.get("action"), ref, "spec.action", "ALLOW").upper()
    if action not in ("ALLOW", "DENY", "AUDIT"):
        not_modelled(ref, "spec.action", f"action {action}")
    selector = as_map(spec.get("selector"), ref, "spec.selector")
    rules = tuple(
        _rule(r, ref, f"spec.rules[{i}]") for i, r in enumerate(as_list(spec.get("rules"), ref, "spec.rules"))
    )
    return AuthorizationPolicyRecord(
        ref, namespace, as_str_map(selector.get("matchLabels"), ref, "spec.selector.matchLabels"), action, rules
    )


def _rule(value: Any, ref: str, path: str) -> Rule:
    data = as_map(value, ref, path)
    check_known(data, frozenset({"from", "to", "when"}), ref, path)
    sources = [
        as_map(s, ref, f"{path}.from[{i}]") for i, s in enumerate(as_list(data.get("from"), ref, f"{path}.from"))
    ]
    operations = [as_map(o, ref, f"{path}.to[{i}]") for i, o in enumerate(as_list(data.get("to"), ref, f"{path}.to"))]
    return Rule(
        tuple(
            _conditions(as_map(s.get("source"), ref, path), _SOURCE_FIELDS, ref, f"{path}.from.source") for s in sources
        ),
        tuple(
            _conditions(as_map(o.get("operation"), ref, path), _OPERATION_FIELDS, ref, f"{path}.to.operation")
            for o in operations
        ),
        tuple(_when(w, ref, f"{path}.when[{i}]") for i, w in enumerate(as_list(data.get("when"), ref, f"{path}.when"))),
    )


def _conditions(data: dict[str, Any], fields: dict[str, str], ref: str, path: str) -> tuple[Condition, ...]:
    known = frozenset(fields) | {f"not{name[0].upper()}{name[1:]}" for name in fields}
    check_known(data, known, ref, path)
    out = []
    for name, attribute in fields.items():
        negative = f"not{name[0].upper()}{name[1:]}"
        values, not_values = (
            as_str_list(data.get(name), ref, f"{path}.{name}"),
            as_str_list(data.get(negative), ref, path),
        )
        http_only = name in _HTTP_ONLY
        if values:
            out.append(Condition(name, attribute, values, (), http_only))
        if not_values:
            out.append(Condition(negative, attribute, (), not_values, http_only))
    return tuple(out)


def _when(value: Any, ref: str, path: str) -> Condition:
    data = as_map(value, ref, path)
    key = as_str(data.get("key"), ref, f"{path}.key")
    values, not_values = as_str_list(data.get("values"), ref, path), as_str_list(data.get("notValues"), ref, path)
    if key.startswith("request."):
        return Condition(key, "request_attribute", values, not_values, http_only=True)
    if key not in _WHEN_KEYS:
        not_modelled(ref, f"{path}.key", f"condition key '{key}'")
    return Condition(key, _WHEN_KEYS[key], values, not_values)
