"""Semantic validation of ASMEgressTrafficPolicy objects (spec §6, the offline rules).

The pydantic model only checks shapes; this module decides whether a policy is *acceptable*.
Every rule of spec §6 that needs no cluster access (V1-V22, V27, V28), and the Kubernetes
syntax of labels, annotations, rule and port names (V29-V32), is a small function in one of
the ``validation_*`` modules, listed in ``RULES`` below. All rules run on every policy,
so one call reports every problem at once; findings come back in document order, each with a
stable code (``EGRESS-V12``), a severity, the JSON path of the offending field and a
translatable message saying what is wrong and what would be right.

Public API (stable; the web, API and CLI layers call only these):

- ``validate_policy(policy, gateway=None, settings=None) -> list[Finding]``
- ``check_policy_text(raw, gateway=None, settings=None) -> ParsedPolicy`` (parse + validate,
  every finding pinned to its source line)
- ``check_policy_data(data, gateway=None, settings=None) -> ParsedPolicy``

Severity choices the spec leaves open (documented here because they are decisions):

- V10b (hosts resolve alike) cannot be checked offline: an *info* reminder on entries with more
  than one host. V16 reports ``byEgressGateway: {}`` as an *info* naming the resolved port.
- V17/V18 are errors against a gateway the caller described (database, ``--gateway-ports``)
  and warnings against the default seed gateway. Under ``portDefault: asmAuto`` an allocated
  port the gateway does not declare yet is an *info*: ASM adds it.
"""

from __future__ import annotations

import re
from typing import Any

from policies.core.document import ParsedPolicy, parse_policy_data, parse_policy_text
from policies.core.findings import Finding
from policies.core.gateway import GatewayDescription, TranslationSettings, seed_gateway
from policies.core.gcpause import paused_gc
from policies.core.model import EgressPolicy
from policies.core.validation_context import Rule, ValidationContext
from policies.core.validation_document import (
    check_api_version_and_kind,
    check_gateway_name,
    check_name_lengths,
    check_namespace,
    check_policy_name,
    check_rule_shape,
    check_source_namespaces,
    check_status_is_read_only,
    check_top_level_port,
    check_workload_selectors,
)
from policies.core.validation_gateway import (
    check_exclusive_gateway_ports,
    check_gateway_port_protocols,
    check_gateway_ports_exist,
)
from policies.core.validation_hosts import (
    check_host_groups,
    check_hosts,
    check_same_addresses,
    check_tcp_port_claims,
    check_tcp_single_host,
    check_wildcards,
)
from policies.core.validation_identity import identity_findings
from policies.core.validation_istio import check_tcp_catch_all, check_upgrade_verification
from policies.core.validation_names import (
    check_metadata_annotations,
    check_metadata_labels,
    check_port_name_syntax,
    check_rule_names,
)
from policies.core.validation_targets import (
    check_gateway_refs,
    check_port_names,
    check_ports,
    check_protocols,
    check_target_names,
    check_target_ports_unset,
    check_upgrade_port,
    check_upgrade_protocol,
)

DEFAULT_GATEWAY_NAME = "egressgateway"

RULES: tuple[Rule, ...] = (
    check_api_version_and_kind,  # V1
    check_namespace,  # V2
    check_policy_name,  # V3
    check_gateway_name,  # V4
    check_top_level_port,  # V5
    check_rule_shape,  # V6
    check_source_namespaces,  # V7
    check_workload_selectors,  # V8
    check_target_names,  # V9
    check_hosts,  # V10
    check_wildcards,  # V10a
    check_same_addresses,  # V10b
    check_tcp_single_host,  # V10c
    check_tcp_catch_all,  # V10d
    check_host_groups,  # V11
    check_tcp_port_claims,  # V11a
    check_ports,  # V12
    check_protocols,  # V13
    check_port_names,  # V14
    check_target_ports_unset,  # V15
    check_gateway_refs,  # V16
    check_gateway_ports_exist,  # V17
    check_gateway_port_protocols,  # V18
    check_exclusive_gateway_ports,  # V19
    check_upgrade_protocol,  # V20
    check_upgrade_verification,  # V20a
    check_upgrade_port,  # V21, V22
    check_status_is_read_only,  # V27
    check_name_lengths,  # V28
    check_metadata_labels,  # V29
    check_metadata_annotations,  # V30
    check_rule_names,  # V31
    check_port_name_syntax,  # V32
)


def validate_policy(
    policy: EgressPolicy,
    gateway: GatewayDescription | None = None,
    settings: TranslationSettings | None = None,
) -> list[Finding]:
    """Every offline finding for ``policy``, all at once, in document order.

    Args:
        policy: The parsed policy (any shape the model accepts).
        gateway: The gateway the policy targets. When given it is authoritative: a missing or
            mismatched gateway port is an error. When omitted, the seed's gateway (HTTP 80,
            HTTPS 443, HTTPS 444) stands in and such problems are warnings.
        settings: Translation settings; ``port_default`` decides ports of ``byEgressGateway: {}``.

    Returns:
        The findings, sorted by the position of their field in the document.
    """
    context = ValidationContext(
        policy=policy,
        gateway=gateway or seed_gateway(policy.gateway_name or DEFAULT_GATEWAY_NAME),
        settings=settings or TranslationSettings(),
        gateway_is_authoritative=gateway is not None,
    )
    findings = [finding for rule in RULES for finding in rule(context)]
    return sorted(findings, key=lambda finding: document_order(finding.path))


def check_policy_text(
    raw: bytes | str, gateway: GatewayDescription | None = None, settings: TranslationSettings | None = None
) -> ParsedPolicy:
    """Parse and validate text; findings carry source lines."""
    with paused_gc():
        return check_parsed_policy(parse_policy_text(raw), gateway, settings)


def check_parsed_policy(
    parsed: ParsedPolicy, gateway: GatewayDescription | None = None, settings: TranslationSettings | None = None
) -> ParsedPolicy:
    """Validate a policy already read from text, for callers that look at the document first."""
    if parsed.policy is None and parsed.document is not None:
        return _identified(parsed, parsed.document.data)
    return _validated(parsed, gateway, settings)


def check_policy_data(
    data: Any, gateway: GatewayDescription | None = None, settings: TranslationSettings | None = None
) -> ParsedPolicy:
    """Parse and validate plain data (e.g. a JSON body)."""
    with paused_gc():
        parsed = parse_policy_data(data)
        if parsed.policy is None:
            return _identified(parsed, data)
        return _validated(parsed, gateway, settings)


def _identified(parsed: ParsedPolicy, data: Any) -> ParsedPolicy:
    """Schema findings in document order, or one clear V1 error when the object is not a policy at all."""
    findings = [f.with_line(parsed.line_of(f.path)) for f in identity_findings(data)] or parsed.findings
    return ParsedPolicy(None, sorted(findings, key=lambda f: document_order(f.path)), parsed.document)


def _validated(
    parsed: ParsedPolicy, gateway: GatewayDescription | None, settings: TranslationSettings | None
) -> ParsedPolicy:
    if parsed.policy is None:
        return parsed
    findings = [f.with_line(parsed.line_of(f.path)) for f in validate_policy(parsed.policy, gateway, settings)]
    parsed.findings.extend(findings)
    return parsed


# Canonical field order (seed key order); each object's fields appear here in their own order.
_FIELD_ORDER = {
    name: rank
    for rank, name in enumerate(
        (
            "apiVersion",
            "kind",
            "metadata",
            "spec",
            "status",
            "name",
            "namespace",
            "workloadSelector",
            "from",
            "to",
            "hosts",
            "enabled",
            "port",
            "number",
            "protocol",
            "targetPort",
            "byEgressGateway",
            "egressRules",
            "httpsUpgrade",
        )
    )
}
_PATH_TOKEN = re.compile(r"\[(\d+)\]|([^.\[]+)")


def document_order(path: str) -> tuple[tuple[int, int], ...]:
    """Sort key placing a JSON path where its field appears in a canonical document."""
    return tuple(
        (0, int(index)) if index else (1, _FIELD_ORDER.get(name, len(_FIELD_ORDER)))
        for index, name in _PATH_TOKEN.findall(path)
    )
