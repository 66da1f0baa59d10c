"""Rules about the policy as a whole and its sources (spec §6: V1-V8, V27, V28).

Each rule is one small function of the validation context returning its findings; the list
in ``policies.core.validation`` decides which rules run.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.core.findings import Finding, json_path
from policies.core.i18n import _
from policies.core.model import API_VERSIONS, DEFAULT_POLICY_NAMESPACE, KIND, From, expected_policy_name
from policies.core.names import DERIVED_SUFFIXES, MAX_NAME_LENGTH, truncate_name
from policies.core.validation_context import ValidationContext, error, info, warning
from policies.core.validation_names import label_key_findings, label_value_findings
from policies.core.validation_syntax import is_dns_label


def check_api_version_and_kind(ctx: ValidationContext) -> Iterator[Finding]:
    """V1: the object is an ASMEgressTrafficPolicy of a served version."""
    if ctx.policy.apiVersion not in API_VERSIONS:
        yield error(
            "V1",
            "apiVersion",
            _("apiVersion is '{value}'; use istio.alibabacloud.com/v1 or istio.alibabacloud.com/v1beta1."),
            value=ctx.policy.apiVersion or "",
        )
    if ctx.policy.kind != KIND:
        yield error("V1", "kind", _("kind is '{value}'; use ASMEgressTrafficPolicy."), value=ctx.policy.kind or "")


def check_namespace(ctx: ValidationContext) -> Iterator[Finding]:
    """V2: policies live in ``istio-egress``."""
    namespace = ctx.policy.metadata.namespace if ctx.policy.metadata else None
    if namespace != DEFAULT_POLICY_NAMESPACE:
        yield error(
            "V2",
            "metadata.namespace",
            _("metadata.namespace is '{value}'; ASMEgressTrafficPolicy objects must live in namespace {expected}."),
            value=namespace or "",
            expected=DEFAULT_POLICY_NAMESPACE,
        )


def check_policy_name(ctx: ValidationContext) -> Iterator[Finding]:
    """V3: the policy is named after its gateway, hence one policy per gateway."""
    if not ctx.gateway_name or not is_dns_label(ctx.gateway_name):
        return  # NB: V4 reports a missing or malformed gateway; neither gives a usable expected name.
    name = ctx.policy.metadata.name if ctx.policy.metadata else None
    expected = expected_policy_name(ctx.gateway_name)
    if name != expected:
        yield error(
            "V3",
            "metadata.name",
            _(
                "metadata.name is '{value}'; the policy of gateway '{gateway}' must be named '{expected}' "
                "(one policy per gateway)."
            ),
            value=name or "",
            gateway=ctx.gateway_name,
            expected=expected,
        )


def check_gateway_name(ctx: ValidationContext) -> Iterator[Finding]:
    """V4: the top-level gateway is named, the name is a DNS label and matches a known gateway."""
    path = "spec.byEgressGateway.name"
    name = ctx.gateway_name
    if not name:
        yield error(
            "V4",
            path,
            _(
                "spec.byEgressGateway.name is missing; name the egress gateway this policy "
                "configures, e.g. egressgateway."
            ),
        )
    elif not is_dns_label(name):
        yield error(
            "V4",
            path,
            _(
                "Gateway name '{value}' is not a DNS-1123 label; use 1-63 lower-case letters, "
                "digits and '-', starting and ending with a letter or digit."
            ),
            value=name,
        )
    elif ctx.gateway_is_authoritative and name != ctx.gateway.name:
        yield error(
            "V4",
            path,
            _(
                "The policy names gateway '{value}' but is checked against gateway '{gateway}'; "
                "set spec.byEgressGateway.name to '{gateway}'."
            ),
            value=name,
            gateway=ctx.gateway.name,
        )


def check_top_level_port(ctx: ValidationContext) -> Iterator[Finding]:
    """V5: a top-level gateway port has no documented meaning."""
    ref = ctx.policy.spec.byEgressGateway if ctx.policy.spec else None
    if ref is not None and ref.port is not None:
        yield warning(
            "V5",
            "spec.byEgressGateway.port",
            _(
                "spec.byEgressGateway.port ({value}) has no meaning at the top level; remove it and set the gateway "
                "port on each to-entry's byEgressGateway.port."
            ),
            value=ref.port,
        )


def check_rule_shape(ctx: ValidationContext) -> Iterator[Finding]:
    """V6: at least one rule; every rule has sources and destinations."""
    rules = ctx.policy.spec.egressRules if ctx.policy.spec else None
    if not rules:
        yield error(
            "V6",
            "spec.egressRules",
            _("spec.egressRules is empty; add at least one rule with a 'from' list and a 'to' list."),
        )
        return
    for r, rule in enumerate(rules):
        if not rule.from_:
            yield error(
                "V6",
                f"spec.egressRules[{r}].from",
                _("This rule has no sources in 'from'; add at least one, e.g. '- namespace: mytest'."),
            )
        if not rule.to:
            yield error(
                "V6",
                f"spec.egressRules[{r}].to",
                _("This rule has no destinations in 'to'; add at least one to-entry with name, hosts and port."),
            )


def check_source_namespaces(ctx: ValidationContext) -> Iterator[Finding]:
    """V7: every source names a valid namespace."""
    for r, f, source in _sources(ctx):
        path = f"spec.egressRules[{r}].from[{f}].namespace"
        if not source.namespace:
            yield error(
                "V7",
                path,
                _("from[].namespace is missing; name the Kubernetes namespace of the client workloads, e.g. mytest."),
            )
        elif not is_dns_label(source.namespace):
            yield error(
                "V7",
                path,
                _(
                    "Namespace '{value}' is not a valid namespace name; use a DNS-1123 label "
                    "(1-63 lower-case letters, digits and '-')."
                ),
                value=source.namespace,
            )


def check_workload_selectors(ctx: ValidationContext) -> Iterator[Finding]:
    """V8: selector labels follow Kubernetes syntax and carry no wildcard."""
    for r, f, source in _sources(ctx):
        for key, value in (source.workloadSelector or {}).items():
            path = json_path(("spec", "egressRules", r, "from", f, "workloadSelector", key))
            yield from _label_findings(path, key, value)


def _label_findings(path: str, key: str, value: str) -> Iterator[Finding]:
    yield from label_key_findings("V8", path, key)
    if "*" in value:
        yield error(
            "V8",
            path,
            _(
                "Label value '{value}' of '{key}' contains '*'; workload selectors match exact "
                "values only, so write the exact label value."
            ),
            key=key,
            value=value,
        )
    else:
        yield from label_value_findings("V8", path, key, value)


def _sources(ctx: ValidationContext) -> Iterator[tuple[int, int, From]]:
    rules = (ctx.policy.spec.egressRules if ctx.policy.spec else None) or []
    for r, rule in enumerate(rules):
        for f, source in enumerate(rule.from_ or []):
            yield r, f, source


def check_status_is_read_only(ctx: ValidationContext) -> Iterator[Finding]:
    """V27: a status block is ignored; ASM's controller owns it."""
    if ctx.policy.status is not None:
        yield info(
            "V27",
            "status",
            _(
                "status is read-only and written by ASM's controller; it is stripped from "
                "the policy before it is saved or applied."
            ),
        )


def check_name_lengths(ctx: ValidationContext) -> Iterator[Finding]:
    """V28: long policy and derived names are cut with a hash (spec §4.1)."""
    name = ctx.policy.metadata.name if ctx.policy.metadata else None
    if not name:
        return
    if len(name) > MAX_NAME_LENGTH:
        yield info(
            "V28",
            "metadata.name",
            _(
                "metadata.name is {length} characters; the objects and label values "
                "named after it are shortened to '{truncated}'."
            ),
            length=len(name),
            truncated=truncate_name(name),
        )
    for target in ctx.targets:
        if target.to.name:
            yield from _derived_name_findings(name, target.to.name, f"{target.path}.name")


def _derived_name_findings(policy_name: str, target_name: str, path: str) -> Iterator[Finding]:
    full_names = [f"{policy_name}-{target_name}{suffix}" for suffix in DERIVED_SUFFIXES.values()]
    cut = [truncate_name(full) for full in full_names if len(full) > MAX_NAME_LENGTH]
    if not cut:
        return
    yield info(
        "V28",
        path,
        _(
            "Object names derived from to-entry '{target}' exceed 63 characters and are "
            "shortened with a hash, e.g. {names}."
        ),
        target=target_name,
        names=", ".join(cut),
    )
