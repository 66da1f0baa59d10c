"""Gateway authorization rules: rendering, reading hand-written policies back, validation."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from policies.core.authorization import (
    AuthorizationRule,
    AuthorizationShapeError,
    authorization_policy,
    rules_from_authorization_policy,
    seed_deny_post_rule,
    validate_authorization_rules,
)
from policies.core.gateway import TranslationSettings
from policies.core.yamlio import dump_yaml
from policies.seed import seed_text
from tests.fixtures.seed import seed_policy
from tests.istio_schema import assert_schema_valid


def seed_authorization_policy() -> dict[str, Any]:
    """The seed's hand-written AuthorizationPolicy (policies/seed/authorization-deny-post.yaml)."""
    return yaml.safe_load(seed_text("authorization-deny-post"))


def test_the_seed_rule_renders_the_seed_authorization_policy() -> None:
    # when the seed rule is rendered for the seed's mesh (v1beta1, no console labels)
    rendered = authorization_policy(seed_deny_post_rule(), TranslationSettings(api_version="v1beta1"), "egressgateway")

    # then it is the seed file, key order included
    assert dump_yaml(rendered) == seed_text("authorization-deny-post")
    assert_schema_valid(rendered)


def test_rules_select_the_gateway_pods_in_the_gateway_namespace() -> None:
    # given a plain-Istio gateway and an ALLOW rule by path only
    rule = AuthorizationRule(name="allow-api", action="ALLOW", paths=("/api/*",))
    custom = TranslationSettings(gateway_namespace="istio-gateways", gateway_selector={"app": "egress"})

    # when rendered with labels
    rendered = authorization_policy(rule, custom, "egressgateway", labels={"egress.console/policy": "p"})

    # then only the given conditions appear, for the configured pods, in v1
    assert rendered == {
        "apiVersion": "security.istio.io/v1",
        "kind": "AuthorizationPolicy",
        "metadata": {"name": "allow-api", "namespace": "istio-gateways", "labels": {"egress.console/policy": "p"}},
        "spec": {
            "selector": {"matchLabels": {"app": "egress"}},
            "action": "ALLOW",
            "rules": [{"to": [{"operation": {"paths": ["/api/*"]}}]}],
        },
    }
    assert_schema_valid(rendered)


def test_a_hand_written_policy_reads_back_into_the_same_rule() -> None:
    # when the seed file is read back, then it is the seed rule, and renders to itself
    rules = rules_from_authorization_policy(seed_authorization_policy())
    assert rules == [seed_deny_post_rule()]
    settings = TranslationSettings(api_version="v1beta1")
    assert authorization_policy(rules[0], settings, "egressgateway") == seed_authorization_policy()


def test_a_policy_with_several_rules_becomes_one_rule_each() -> None:
    # given an AuthorizationPolicy without action (ALLOW) and two rules
    obj = seed_authorization_policy()
    del obj["spec"]["action"]
    obj["spec"]["rules"].append({"to": [{"operation": {"methods": ["GET"], "paths": ["/status/200"]}}]})

    # then two ALLOW rules named after it
    assert rules_from_authorization_policy(obj) == [
        AuthorizationRule(
            name="egress-deny-post-from-mytest-1",
            action="ALLOW",
            hosts=("www.httpbin.org", "httpbin.org"),
            methods=("POST",),
            source_namespaces=("mytest",),
        ),
        AuthorizationRule(
            name="egress-deny-post-from-mytest-2", action="ALLOW", methods=("GET",), paths=("/status/200",)
        ),
    ]


def _changed(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    obj = seed_authorization_policy()
    parent = obj
    for part in path[:-1]:
        parent = parent[part]
    parent[path[-1]] = value
    return obj


@pytest.mark.parametrize(
    ("path", "value", "error_path"),
    [
        (("kind",), "PeerAuthentication", "kind"),
        (("spec", "action"), "CUSTOM", "spec.action"),
        (("spec", "rules"), [], "spec.rules"),
        (("spec", "provider"), {"name": "ext"}, "spec.provider"),
        (("spec", "rules", 0, "when"), [{"key": "request.headers[x]", "values": ["1"]}], "spec.rules[0].when"),
        (
            ("spec", "rules", 0, "from", 0, "source", "principals"),
            ["cluster.local/ns/a/sa/b"],
            "spec.rules[0].from[0].source.principals",
        ),
        (("spec", "rules", 0, "to", 0, "operation", "notMethods"), ["GET"], "spec.rules[0].to[0].operation.notMethods"),
        (
            ("spec", "rules", 0, "from"),
            [{"source": {"namespaces": ["a"]}}, {"source": {"namespaces": ["b"]}}],
            "spec.rules[0].from",
        ),
        (("spec", "rules", 0, "to", 0, "operation", "methods"), "POST", "spec.rules[0].to[0].operation.methods"),
    ],
)
def test_shapes_the_rules_cannot_carry_are_refused_with_their_path(
    path: tuple[Any, ...], value: Any, error_path: str
) -> None:
    with pytest.raises(AuthorizationShapeError) as raised:
        rules_from_authorization_policy(_changed(path, value))
    assert (raised.value.code, raised.value.path) == ("EGRESS-A9", error_path)


def test_the_rule_model_is_strict_about_fields_and_types() -> None:
    with pytest.raises(ValidationError):
        AuthorizationRule(name="x", action="DENY", verbs=("GET",))  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        AuthorizationRule.model_validate({"name": "x", "action": "AUDIT"})
    with pytest.raises(ValidationError):
        AuthorizationRule.model_validate({"name": "x", "action": "DENY", "methods": "POST"})
    assert AuthorizationRule.model_validate({"name": "x", "action": "DENY", "methods": ["POST"]}).methods == ("POST",)


def test_the_seed_rule_is_valid_for_an_http_policy() -> None:
    assert validate_authorization_rules([seed_deny_post_rule()], seed_policy("1")) == []


@pytest.mark.parametrize(
    ("changes", "code", "path", "message"),
    [
        ({"name": "Deny_Post"}, "EGRESS-A1", "authorization[0].name", "Name 'Deny_Post' is not a DNS-1123 subdomain."),
        (
            {"methods": ("POST", "post")},
            "EGRESS-A2",
            "authorization[0].methods[1]",
            "'post' is not an HTTP method (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, CONNECT, TRACE). "
            "Write it in upper case: POST.",
        ),
        (
            {"methods": ("FETCH",)},
            "EGRESS-A2",
            "authorization[0].methods[0]",
            "'FETCH' is not an HTTP method (GET, HEAD, POST, PUT, DELETE, PATCH, OPTIONS, CONNECT, TRACE).",
        ),
        (
            {"paths": ("api/*",)},
            "EGRESS-A3",
            "authorization[0].paths[0]",
            "Path 'api/*' must start with '/' and may end with '*' for a prefix match.",
        ),
        (
            {"paths": ("/a*/b",)},
            "EGRESS-A3",
            "authorization[0].paths[0]",
            "Path '/a*/b' must start with '/' and may end with '*' for a prefix match.",
        ),
        (
            {"source_namespaces": ("My-Test",)},
            "EGRESS-A4",
            "authorization[0].source_namespaces[0]",
            "'My-Test' is not a namespace name (DNS-1123 label).",
        ),
        (
            {"hosts": ("httpbin.org", "*")},
            "EGRESS-A5",
            "authorization[0].hosts[1]",
            "Host '*' must be a lower-case FQDN or a wildcard like *.example.com.",
        ),
        (
            {"hosts": ("HTTPBIN.org",)},
            "EGRESS-A5",
            "authorization[0].hosts[0]",
            "Host 'HTTPBIN.org' must be a lower-case FQDN or a wildcard like *.example.com.",
        ),
    ],
)
def test_invalid_rule_values_are_errors_at_their_path(
    changes: dict[str, Any], code: str, path: str, message: str
) -> None:
    # given the seed rule with one bad value
    rule = seed_deny_post_rule().model_copy(update=changes)

    # when validated, then exactly one error names the value
    findings = validate_authorization_rules([rule])
    assert [(f.code, f.severity.value, f.path, f.message) for f in findings] == [(code, "error", path, message)]


def test_wildcard_hosts_and_prefix_paths_are_accepted() -> None:
    rule = AuthorizationRule(name="ok", action="ALLOW", hosts=("*.httpbin.org",), paths=("/", "/anything*"))
    assert validate_authorization_rules([rule]) == []


def test_duplicate_rule_names_are_an_error() -> None:
    findings = validate_authorization_rules([seed_deny_post_rule(), seed_deny_post_rule()])
    assert [(f.code, f.path) for f in findings] == [("EGRESS-A6", "authorization[1].name")]


def test_http_only_conditions_warn_when_the_policy_has_tls_or_tcp_entries() -> None:
    # given the seed DENY rule next to the TCP policy of scenario 4
    findings = validate_authorization_rules([seed_deny_post_rule()], seed_policy("4"))

    # then a warning explains that on TCP the rule denies everything from mytest (spec row A4)
    assert [(f.code, f.severity.value, f.path) for f in findings] == [("EGRESS-A7", "warning", "authorization[0]")]


def test_a_rule_without_conditions_warns_that_it_matches_everything() -> None:
    findings = validate_authorization_rules([AuthorizationRule(name="deny-all", action="DENY")])
    assert [(f.code, f.severity.value, f.message) for f in findings] == [
        ("EGRESS-A8", "warning", "The rule has no condition and applies to every request via the gateway.")
    ]
