"""Gateway authorization rules the console carries next to a policy, as Istio AuthorizationPolicy.

ASM's egress policy says who may reach which host, but not with which method or path: the seed
adds that with a hand-written ``security.istio.io`` AuthorizationPolicy on the egress gateway
pods (spec §3(f), row A1). The console models such rules as small ``AuthorizationRule`` objects
so they can be edited, validated (codes ``EGRESS-A1``..``EGRESS-A8``) and rendered next to the
expansion, and reads a hand-written AuthorizationPolicy back into rules when its shape fits.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from policies.core.findings import Finding, Severity
from policies.core.gateway import STREAM_FAMILY, TranslationSettings
from policies.core.i18n import _
from policies.core.model import EgressPolicy
from policies.core.names import truncate_name

SECURITY_GROUP = "security.istio.io"
KIND = "AuthorizationPolicy"
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE")
_LABEL = r"[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?"
_DNS_LABEL = re.compile(rf"^{_LABEL}$")
_DNS_SUBDOMAIN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")
_FQDN = re.compile(rf"^{_LABEL}(?:\.{_LABEL})+$")
_WILDCARD_HOST = re.compile(rf"^\*(?:\.{_LABEL})+$")
_PATH = re.compile(r"^/[^*\s]*\*?$")
RuleAction = Literal["ALLOW", "DENY"]


class AuthorizationRule(BaseModel):
    """One ALLOW or DENY rule enforced by the egress gateway; empty lists mean "any"."""

    # NB: not strict, so JSON lists become tuples; pydantic still refuses to coerce other types.
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(description="Name of the AuthorizationPolicy object (DNS-1123 subdomain).")
    action: RuleAction = Field(description="DENY is evaluated first; with ALLOW rules, the rest is denied.")
    hosts: tuple[str, ...] = Field((), description="Host headers (FQDN or `*.domain`) the rule applies to.")
    methods: tuple[str, ...] = Field((), description="Upper-case HTTP methods, e.g. POST.")
    paths: tuple[str, ...] = Field((), description="Request paths; a trailing `*` is a prefix match.")
    source_namespaces: tuple[str, ...] = Field((), description="Namespaces of the calling workloads.")


def seed_deny_post_rule() -> AuthorizationRule:
    """The seed's rule: deny POST from namespace mytest to the httpbin hosts (spec §5 row A1)."""
    return AuthorizationRule(
        name="egress-deny-post-from-mytest",
        action="DENY",
        hosts=("www.httpbin.org", "httpbin.org"),
        methods=("POST",),
        source_namespaces=("mytest",),
    )


def authorization_policy(
    rule: AuthorizationRule, settings: TranslationSettings, gateway_name: str, labels: dict[str, str] | None = None
) -> dict[str, Any]:
    """The AuthorizationPolicy enforcing ``rule`` on the egress gateway pods.

    Args:
        rule: The rule to render.
        settings: Gateway namespace, pod selector and API version (``v1`` or ``v1beta1``).
        gateway_name: The gateway whose pods are selected with ``istio: <name>`` by default.
        labels: Labels for the object (the expansion's managed-by labels); none when omitted.

    Returns:
        The object in canonical key order, selecting the gateway pods in the gateway namespace.
    """
    metadata: dict[str, Any] = {"name": rule.name, "namespace": settings.gateway_namespace}
    if labels is not None:
        metadata["labels"] = dict(labels)
    selector = dict(settings.gateway_selector or {"istio": gateway_name})
    return {
        "apiVersion": f"{SECURITY_GROUP}/{settings.api_version}",
        "kind": KIND,
        "metadata": metadata,
        "spec": {"selector": {"matchLabels": selector}, "action": rule.action, "rules": [_rule_body(rule)]},
    }


def _rule_body(rule: AuthorizationRule) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if rule.source_namespaces:
        body["from"] = [{"source": {"namespaces": list(rule.source_namespaces)}}]
    operation = {
        key: list(values)
        for key, values in (("hosts", rule.hosts), ("methods", rule.methods), ("paths", rule.paths))
        if values
    }
    if operation:
        body["to"] = [{"operation": operation}]
    return body


class AuthorizationShapeError(Exception):
    """A hand-written AuthorizationPolicy uses something ``AuthorizationRule`` cannot express."""

    def __init__(self, path: str, template: str, **params: Any) -> None:
        self.code = "EGRESS-A9"
        self.path = path
        self.template = template
        self.params = params
        super().__init__(f"{self.code} at {path}: {template.format(**params)}")

    @property
    def message(self) -> str:
        """The error in English."""
        return self.template.format(**self.params)


def rules_from_authorization_policy(obj: dict[str, Any]) -> list[AuthorizationRule]:
    """Read a hand-written AuthorizationPolicy back into rules, one per entry of ``spec.rules``.

    Splitting is faithful: a request matches a policy when it matches any of its rules, and
    Istio combines several policies of one action the same way.

    Raises:
        AuthorizationShapeError: a field or action the console's rules cannot carry.
    """
    _expect_kind(obj)
    spec = _mapping(obj.get("spec"), "spec")
    _only(spec, ("selector", "action", "rules"), "spec")
    action = spec.get("action", "ALLOW")
    if action not in ("ALLOW", "DENY"):
        raise AuthorizationShapeError(
            "spec.action", _("Action {action} is not supported; use ALLOW or DENY."), action=action
        )
    rules = spec.get("rules")
    if not isinstance(rules, list) or not rules:
        raise AuthorizationShapeError("spec.rules", _("A policy without rules cannot be expressed as console rules."))
    name = _mapping(obj.get("metadata"), "metadata").get("name", "")
    names = [name] if len(rules) == 1 else [truncate_name(f"{name}-{i + 1}") for i in range(len(rules))]
    return [_rule(item, names[i], action, f"spec.rules[{i}]") for i, item in enumerate(rules)]


def _expect_kind(obj: dict[str, Any]) -> None:
    api_version = str(obj.get("apiVersion", ""))
    if obj.get("kind") != KIND or not api_version.startswith(f"{SECURITY_GROUP}/"):
        raise AuthorizationShapeError(
            "kind",
            _("Expected a {group} AuthorizationPolicy, got {kind} {api_version}."),
            group=SECURITY_GROUP,
            kind=obj.get("kind"),
            api_version=api_version,
        )


def _rule(item: Any, name: str, action: RuleAction, path: str) -> AuthorizationRule:
    body = _mapping(item, path)
    _only(body, ("from", "to"), path)
    source = _single_part(body.get("from"), "source", ("namespaces",), f"{path}.from")
    operation = _single_part(body.get("to"), "operation", ("hosts", "methods", "paths"), f"{path}.to")
    return AuthorizationRule(
        name=name,
        action=action,
        hosts=tuple(operation.get("hosts", ())),
        methods=tuple(operation.get("methods", ())),
        paths=tuple(operation.get("paths", ())),
        source_namespaces=tuple(source.get("namespaces", ())),
    )


def _single_part(items: Any, key: str, fields: tuple[str, ...], path: str) -> dict[str, Any]:
    """The one ``from`` source or ``to`` operation of a rule, limited to ``fields``."""
    if items is None:
        return {}
    if not isinstance(items, list) or len(items) != 1:
        raise AuthorizationShapeError(path, _("Exactly one {key} per rule is supported."), key=key)
    part = _mapping(_mapping(items[0], f"{path}[0]").get(key), f"{path}[0].{key}")
    _only(part, fields, f"{path}[0].{key}")
    for field in fields:
        values = part.get(field, [])
        if not isinstance(values, list) or not all(isinstance(value, str) for value in values):
            raise AuthorizationShapeError(f"{path}[0].{key}.{field}", _("Expected a list of strings."))
    return part


def _mapping(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise AuthorizationShapeError(path, _("Expected a mapping."))
    return value


def _only(mapping: dict[str, Any], allowed: tuple[str, ...], path: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise AuthorizationShapeError(
                f"{path}.{key}",
                _("Field {field} is not supported by console rules (supported: {allowed})."),
                field=key,
                allowed=", ".join(allowed),
            )


def validate_authorization_rules(rules: list[AuthorizationRule], policy: EgressPolicy | None = None) -> list[Finding]:
    """Every finding about ``rules``, in order; ``policy`` enables the TCP-chain warning (A7).

    Codes: A1 name, A2 method, A3 path, A4 namespace, A5 host, A6 duplicate name,
    A7 HTTP-only fields on TLS/TCP traffic, A8 a rule that matches every request.
    """
    findings: list[Finding] = []
    seen: set[str] = set()
    streams = _has_stream_entries(policy)
    for index, rule in enumerate(rules):
        path = f"authorization[{index}]"
        findings.extend(_rule_findings(rule, path))
        if rule.name in seen:
            findings.append(_error("EGRESS-A6", f"{path}.name", _("Rule name {name} is used twice."), name=rule.name))
        seen.add(rule.name)
        findings.extend(_scope_findings(rule, path, streams))
    return findings


def _rule_findings(rule: AuthorizationRule, path: str) -> list[Finding]:
    findings: list[Finding] = []
    if len(rule.name) > 253 or not _DNS_SUBDOMAIN.match(rule.name):
        findings.append(
            _error("EGRESS-A1", f"{path}.name", _("Name '{name}' is not a DNS-1123 subdomain."), name=rule.name)
        )
    findings.extend(_list_findings(rule.methods, f"{path}.methods", _method_problem))
    findings.extend(_list_findings(rule.paths, f"{path}.paths", _path_problem))
    findings.extend(_list_findings(rule.source_namespaces, f"{path}.source_namespaces", _namespace_problem))
    findings.extend(_list_findings(rule.hosts, f"{path}.hosts", _host_problem))
    return findings


def _list_findings(values: tuple[str, ...], path: str, problem: Any) -> list[Finding]:
    return [finding for i, value in enumerate(values) if (finding := problem(value, f"{path}[{i}]")) is not None]


def _method_problem(value: str, path: str) -> Finding | None:
    if value in HTTP_METHODS:
        return None
    hint = _(" Write it in upper case: {upper}.") if value.upper() in HTTP_METHODS else ""
    return _error(
        "EGRESS-A2",
        path,
        _("'{value}' is not an HTTP method ({known}).") + hint,
        value=value,
        known=", ".join(HTTP_METHODS),
        upper=value.upper(),
    )


def _path_problem(value: str, path: str) -> Finding | None:
    if _PATH.match(value):
        return None
    return _error(
        "EGRESS-A3", path, _("Path '{value}' must start with '/' and may end with '*' for a prefix match."), value=value
    )


def _namespace_problem(value: str, path: str) -> Finding | None:
    if _DNS_LABEL.match(value):
        return None
    return _error("EGRESS-A4", path, _("'{value}' is not a namespace name (DNS-1123 label)."), value=value)


def _host_problem(value: str, path: str) -> Finding | None:
    if len(value) <= 253 and (_FQDN.match(value) or _WILDCARD_HOST.match(value)):
        return None
    return _error(
        "EGRESS-A5", path, _("Host '{value}' must be a lower-case FQDN or a wildcard like *.example.com."), value=value
    )


def _scope_findings(rule: AuthorizationRule, path: str, streams: bool) -> list[Finding]:
    http_only = bool(rule.hosts or rule.methods or rule.paths)
    if streams and http_only:
        return [
            _warning(
                "EGRESS-A7",
                path,
                _(
                    "On TLS/TCP traffic the gateway ignores hosts, methods and paths: a DENY rule then applies to all "
                    "traffic of its sources, an ALLOW rule to none of it."
                ),
            )
        ]
    if not http_only and not rule.source_namespaces:
        return [
            _warning("EGRESS-A8", path, _("The rule has no condition and applies to every request via the gateway."))
        ]
    return []


def _has_stream_entries(policy: EgressPolicy | None) -> bool:
    if policy is None:
        return False
    return any(to.port is not None and to.port.protocol in STREAM_FAMILY for *_, to in policy.iter_targets())


def _error(code: str, path: str, template: str, **params: Any) -> Finding:
    return Finding(code, Severity.ERROR, path, template, params)


def _warning(code: str, path: str, template: str, **params: Any) -> Finding:
    return Finding(code, Severity.WARNING, path, template, params)
