"""Rules about each to-entry's name, port, gateway reference and upgrade (spec §6: V9, V12-V16, V20-V22)."""

from __future__ import annotations

import re
from collections.abc import Iterator

from policies.core.findings import Finding
from policies.core.gateway import HTTP_FAMILY
from policies.core.i18n import _
from policies.core.model import Port
from policies.core.validation_context import (
    HTTP_FAMILY_EXTRAS,
    RESERVED_PORTS,
    SUPPORTED_PROTOCOLS,
    Target,
    ValidationContext,
    error,
    info,
    warning,
)
from policies.core.validation_syntax import DNS_LABEL_MAX, is_dns_label, is_port_name

MAX_PORT = 65535
_NOT_IN_LABEL = re.compile(r"[^a-z0-9-]+")


def check_target_names(ctx: ValidationContext) -> Iterator[Finding]:
    """V9: every to-entry has a DNS-label name, unique across the whole policy."""
    first_use: dict[str, str] = {}
    for target in ctx.targets:
        name, path = target.to.name, f"{target.path}.name"
        if not name:
            yield error(
                "V9",
                path,
                _("to[].name is missing; give this to-entry a unique DNS-1123 name, e.g. 'httpbin-service-http'."),
            )
        elif not is_dns_label(name):
            yield error(
                "V9",
                path,
                _(
                    "to-entry name '{value}' is not a DNS-1123 label; use 1-63 lower-case "
                    "letters, digits and '-', starting and ending with a letter or digit, e.g. "
                    "'{suggestion}'."
                ),
                value=name,
                suggestion=suggest_label(name),
            )
        elif first_use.setdefault(name, target.path) != target.path:
            yield error(
                "V9",
                path,
                _(
                    "to-entry name '{value}' is already used by {other}; names must be unique in "
                    "the whole policy because generated objects are named after them."
                ),
                value=name,
                other=first_use[name],
            )


def suggest_label(value: str) -> str:
    """A DNS-1123 label close to ``value`` (lower-cased, invalid runs turned into '-')."""
    label = _NOT_IN_LABEL.sub("-", value.lower()).strip("-")[:DNS_LABEL_MAX].rstrip("-")
    return label or "target"


def check_ports(ctx: ValidationContext) -> Iterator[Finding]:
    """V12: each entry has a named port with a usable number."""
    for target in ctx.targets:
        port, path = target.to.port, f"{target.path}.port"
        if port is None:
            yield error(
                "V12",
                path,
                _("port is missing; set name, number and protocol, e.g. name: http, number: 80, protocol: HTTP."),
            )
            continue
        yield from _port_number_findings("V12", f"{path}.number", port.number)
        if not port.name:
            yield error(
                "V12",
                f"{path}.name",
                _("port.name is missing; name the port after its protocol, e.g. '{suggestion}'."),
                suggestion=(port.protocol or "http").lower(),
            )


def _port_number_findings(rule_id: str, path: str, number: int | None) -> Iterator[Finding]:
    if number is None:
        yield error(
            rule_id,
            path,
            _("The port number is missing; set the port the application connects to on the external host (1-65535)."),
        )
    else:
        yield from port_range_findings(rule_id, path, number)


def port_range_findings(rule_id: str, path: str, number: int) -> Iterator[Finding]:
    """Errors for a port outside 1-65535 or reserved by Envoy/Istio."""
    if not 1 <= number <= MAX_PORT:
        yield error(rule_id, path, _("Port {value} is out of range; use a number from 1 to 65535."), value=number)
    elif number in RESERVED_PORTS:
        yield error(
            rule_id,
            path,
            _("Port {value} is reserved by Envoy/Istio ({reserved}); use another port."),
            value=number,
            reserved=", ".join(map(str, RESERVED_PORTS)),
        )


def check_protocols(ctx: ValidationContext) -> Iterator[Finding]:
    """V13: HTTP, HTTPS, TLS or TCP; GRPC and HTTP2 with a warning."""
    for target in ctx.targets:
        if target.to.port is None:
            continue  # NB: V12 already reports the missing port.
        path, protocol = f"{target.path}.port.protocol", target.protocol
        if not protocol:
            yield error("V13", path, _("port.protocol is missing; use one of HTTP, HTTPS, TLS or TCP."))
        elif protocol in HTTP_FAMILY_EXTRAS:
            yield warning(
                "V13",
                path,
                _(
                    "Protocol {value} is treated as HTTP-family but is not shown in ASM's "
                    "documentation; use HTTP unless the service needs {value}."
                ),
                value=protocol,
            )
        elif protocol not in SUPPORTED_PROTOCOLS:
            yield error(
                "V13",
                path,
                _("Protocol '{value}' is not supported; use one of HTTP, HTTPS, TLS or TCP."),
                value=protocol,
            )


def check_port_names(ctx: ValidationContext) -> Iterator[Finding]:
    """V14: the port name starts with its protocol (``http``, ``http-api``, ...)."""
    for target in ctx.targets:
        port = target.to.port
        if port is None or not port.name or not _is_known(port.protocol) or not is_port_name(port.name):
            continue  # NB: V32 reports a name Kubernetes would refuse; one finding per problem.
        if not _name_fits_protocol(port):
            yield warning(
                "V14",
                f"{target.path}.port.name",
                _(
                    "Port name '{name}' does not match protocol {protocol}; name it '{expected}' or "
                    "'{expected}-<suffix>' so that Istio and ASM recognise the protocol."
                ),
                name=port.name,
                protocol=port.protocol,
                expected=(port.protocol or "").lower(),
            )


def _is_known(protocol: str | None) -> bool:
    return protocol in SUPPORTED_PROTOCOLS or protocol in HTTP_FAMILY_EXTRAS


def _name_fits_protocol(port: Port) -> bool:
    prefix = (port.protocol or "").lower()
    name = port.name or ""
    return name == prefix or name.startswith(f"{prefix}-")


def check_target_ports_unset(ctx: ValidationContext) -> Iterator[Finding]:
    """V15: ``port.targetPort`` is the translator's, not the user's."""
    for target in ctx.targets:
        if target.to.port is not None and target.to.port.targetPort is not None:
            yield error(
                "V15",
                f"{target.path}.port.targetPort",
                _(
                    "port.targetPort ({value}) must not be set: the console sets it itself for httpsUpgrade; remove "
                    "it, and use httpsUpgrade to reach a different external TLS port."
                ),
                value=target.to.port.targetPort,
            )


def check_gateway_refs(ctx: ValidationContext) -> Iterator[Finding]:
    """V16: each entry references the gateway (``{}`` allowed) and never another one."""
    for target in ctx.targets:
        yield from _gateway_ref_findings(ctx, target)


def _gateway_ref_findings(ctx: ValidationContext, target: Target) -> Iterator[Finding]:
    ref, path = target.to.byEgressGateway, f"{target.path}.byEgressGateway"
    planned = ctx.gateway_ports[target.key]
    if ref is None and ctx.settings.port_default != "asmAuto":
        yield error(
            "V16",
            path,
            _(
                "byEgressGateway is missing; add it with the gateway port this traffic goes "
                "through, e.g. 'byEgressGateway: {{port: {suggestion}}}', or '{{}}' to use the "
                "entry's own port."
            ),
            suggestion=_port_suggestion(target),
        )
    elif planned.origin != "explicit" and planned.number is not None:
        template = (
            _("byEgressGateway sets no port: ASM auto-allocates gateway port {port} for this entry.")
            if planned.origin == "asmAuto"
            else _("byEgressGateway sets no port: the gateway port defaults to the entry's own port {port}.")
        )
        yield info("V16", path, template, port=planned.number)
    if ref is not None and ref.name and ref.name != ctx.gateway_name:
        yield error(
            "V16",
            f"{path}.name",
            _(
                "byEgressGateway.name '{value}' differs from the policy's gateway "
                "'{gateway}'; remove it or set it to '{gateway}' (a policy uses one "
                "gateway)."
            ),
            value=ref.name,
            gateway=ctx.gateway_name or "",
        )


def _port_suggestion(target: Target) -> int:
    return (target.to.port.number if target.to.port else None) or 80


def check_upgrade_protocol(ctx: ValidationContext) -> Iterator[Finding]:
    """V20: ``httpsUpgrade`` only on HTTP-family entries."""
    for target in ctx.targets:
        if target.to.httpsUpgrade is not None and target.protocol and target.protocol not in HTTP_FAMILY:
            yield error(
                "V20",
                f"{target.path}.httpsUpgrade",
                _(
                    "httpsUpgrade is set on a {protocol} entry, but it only applies to HTTP entries (the app sends "
                    "plain HTTP and the gateway originates TLS); remove it or use protocol HTTP."
                ),
                protocol=target.protocol,
            )


def check_upgrade_port(ctx: ValidationContext) -> Iterator[Finding]:
    """V21 and V22: an enabled upgrade names a valid external port that differs from the client port."""
    for target in ctx.targets:
        upgrade = target.to.httpsUpgrade
        if upgrade is None:
            continue
        path = f"{target.path}.httpsUpgrade.port"
        if upgrade.enabled is not True:
            if upgrade.port is not None:
                yield warning(
                    "V21",
                    path,
                    _(
                        "httpsUpgrade.port {value} is ignored because httpsUpgrade.enabled is "
                        "not true; set 'enabled: true' or remove the port."
                    ),
                    value=upgrade.port,
                )
        elif upgrade.port is None:
            yield error(
                "V21",
                path,
                _(
                    "httpsUpgrade is enabled but has no port; set httpsUpgrade.port to the "
                    "external TLS port, usually 443."
                ),
            )
        elif not 1 <= upgrade.port <= MAX_PORT:
            yield error(
                "V21",
                path,
                _("httpsUpgrade.port {value} is out of range; use a number from 1 to 65535, usually 443."),
                value=upgrade.port,
            )
        elif target.to.port is not None and upgrade.port == target.to.port.number:
            yield error(
                "V22",
                path,
                _(
                    "httpsUpgrade.port {value} equals port.number; the upgrade needs a different "
                    "external TLS port (usually 443), so change one of them."
                ),
                value=upgrade.port,
            )
