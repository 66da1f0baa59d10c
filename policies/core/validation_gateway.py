"""Rules about the gateway port each to-entry goes through (spec §6: V17, V18, V19).

The effective port comes from ``policies.core.portplan`` (explicit, ``samePort`` or
``asmAuto``). It is checked against the gateway description: authoritatively (errors) when the
caller described the gateway, as a warning against the seed's default gateway otherwise.
"""

from __future__ import annotations

from collections.abc import Iterator

from policies.core.findings import Finding
from policies.core.gateway import HTTP_FAMILY, STREAM_FAMILY, GatewayPort
from policies.core.i18n import _
from policies.core.portplan import AUTO_STREAM_FIRST, AUTO_STREAM_LAST, PlannedPort
from policies.core.validation_context import (
    RESERVED_PORTS,
    Target,
    ValidationContext,
    error,
    error_or_warning,
    info,
)
from policies.core.validation_targets import MAX_PORT, port_range_findings


def gateway_port_path(target: Target, planned: PlannedPort) -> str:
    """Where the effective gateway port is written (or would be, when it is defaulted)."""
    if planned.origin == "explicit":
        return f"{target.path}.byEgressGateway.port"
    return f"{target.path}.byEgressGateway"


def is_usable_port(number: int) -> bool:
    """In range and not reserved by Envoy/Istio."""
    return 1 <= number <= MAX_PORT and number not in RESERVED_PORTS


def check_gateway_ports_exist(ctx: ValidationContext) -> Iterator[Finding]:
    """V17: the effective gateway port is valid and is a port of the gateway Service."""
    for target in ctx.targets:
        planned = ctx.gateway_ports[target.key]
        path = gateway_port_path(target, planned)
        if planned.exhausted:
            yield error(
                "V17",
                path,
                _(
                    "No gateway port is left for auto-allocation (ports {first}-{last} are all "
                    "taken); set byEgressGateway.port explicitly."
                ),
                first=AUTO_STREAM_FIRST,
                last=AUTO_STREAM_LAST,
            )
        elif planned.number is not None and planned.origin == "explicit" and not is_usable_port(planned.number):
            yield from port_range_findings("V17", path, planned.number)
        elif planned.number is not None and is_usable_port(planned.number):
            yield from _membership_findings(ctx, planned, path)


def _membership_findings(ctx: ValidationContext, planned: PlannedPort, path: str) -> Iterator[Finding]:
    assert planned.number is not None  # NB: callers only pass decided ports.
    if ctx.declared_port(planned.number) is not None:
        return
    if planned.origin == "asmAuto":
        yield info(
            "V17",
            path,
            _(
                "Gateway '{gateway}' does not declare port {port} yet; with the asmAuto port "
                "default the allocated port is added to the gateway Service, so this is expected."
            ),
            gateway=ctx.gateway.name,
            port=planned.number,
        )
        return
    yield error_or_warning(
        ctx.gateway_is_authoritative,
        "V17",
        path,
        _(
            "Gateway '{gateway}' has no Service port {port} (it has {ports}); use one of its ports or add port {port} "
            "to the gateway."
        ),
        gateway=ctx.gateway.name,
        port=planned.number,
        ports=_describe(ctx.gateway.ports),
    )


def _describe(ports: tuple[GatewayPort, ...]) -> str:
    return ", ".join(f"{p.number}/{p.protocol}" for p in ports)


def check_gateway_port_protocols(ctx: ValidationContext) -> Iterator[Finding]:
    """V18: HTTP-family entries use an HTTP gateway port, HTTPS/TLS/TCP entries a TLS-family one."""
    for target in ctx.targets:
        planned = ctx.gateway_ports[target.key]
        declared = ctx.declared_port(planned.number) if planned.number is not None else None
        family = _family(target.protocol)
        if declared is None or family is None or declared.protocol in family:
            continue
        matching = tuple(p for p in ctx.gateway.ports if p.protocol in family)
        yield error_or_warning(
            ctx.gateway_is_authoritative,
            "V18",
            gateway_port_path(target, planned),
            _(
                "Gateway port {port} is declared {declared}, but a {protocol} entry needs a gateway port declared "
                "{needed} (the gateway's matching ports: {matching}); use such a port instead."
            ),
            port=declared.number,
            declared=declared.protocol,
            protocol=target.protocol,
            needed=" / ".join(sorted(family)),
            matching=_describe(matching) or "-",
        )


def _family(protocol: str | None) -> frozenset[str] | None:
    if protocol in HTTP_FAMILY:
        return HTTP_FAMILY
    if protocol in STREAM_FAMILY:
        return STREAM_FAMILY
    return None


def check_exclusive_gateway_ports(ctx: ValidationContext) -> Iterator[Finding]:
    """V19: an HTTPS/TLS/TCP entry owns its gateway port; only HTTP-family entries share one."""
    first_user: dict[int, Target] = {}
    stream_owner: dict[int, Target] = {}
    for target in ctx.targets:
        planned = ctx.gateway_ports[target.key]
        family, number = _family(target.protocol), planned.number
        if family is None or number is None:
            continue
        path = gateway_port_path(target, planned)
        earlier = first_user.setdefault(number, target)
        if family is STREAM_FAMILY and earlier is not target:
            yield error(
                "V19",
                path,
                _(
                    "Gateway port {port} is also used by {other}; {protocol} entries need a "
                    "gateway port of their own, so pick a free gateway port."
                ),
                port=number,
                other=earlier.path,
                protocol=target.protocol,
            )
        elif family is HTTP_FAMILY and number in stream_owner:
            owner = stream_owner[number]
            yield error(
                "V19",
                path,
                _(
                    "Gateway port {port} belongs to the {owner_protocol} entry {other}, which "
                    "needs it exclusively; route this entry through another gateway port."
                ),
                port=number,
                other=owner.path,
                owner_protocol=owner.protocol,
            )
        if family is STREAM_FAMILY:
            stream_owner.setdefault(number, target)
