"""The gateway port each to-entry uses, after applying the port-default setting.

A to-entry names its gateway port in ``byEgressGateway.port``. When that is unset (or 0, which
ASM treats the same), the port depends on how one reads ASM (spec §2, "Unset
``to[].byEgressGateway.port``"): ``samePort`` reuses the entry's own ``port.number``;
``asmAuto`` follows ASM's allocation comment (HTTP 10000, gRPC 50051, one port per TCP/TLS
host-port pair from 10001 up to 20000). Validation (V16-V19) and the Istio expansion must agree
on this, so both read it from here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from policies.core.gateway import HTTP_FAMILY, STREAM_FAMILY, TranslationSettings
from policies.core.model import EgressPolicy, To

AUTO_HTTP_PORT = 10000
AUTO_GRPC_PORT = 50051
AUTO_STREAM_FIRST = 10001
AUTO_STREAM_LAST = 20000

PortOrigin = Literal["explicit", "samePort", "asmAuto"]


@dataclass(frozen=True, slots=True)
class PlannedPort:
    """The effective gateway port of one to-entry and where it came from (``None``: undecidable)."""

    number: int | None
    origin: PortOrigin
    exhausted: bool = False


def explicit_gateway_port(to: To) -> int | None:
    """``byEgressGateway.port`` when the entry sets one (0 counts as unset, as in ASM)."""
    port = to.byEgressGateway.port if to.byEgressGateway else None
    return port if port else None


def plan_gateway_ports(policy: EgressPolicy, settings: TranslationSettings) -> dict[tuple[int, int], PlannedPort]:
    """The effective gateway port of every to-entry, keyed by (rule index, entry index).

    Args:
        policy: The policy; entries may be incomplete (missing ports give ``number=None``).
        settings: Chooses ``samePort`` or ``asmAuto`` for entries without an explicit port.

    Returns:
        One ``PlannedPort`` per to-entry, in document order.
    """
    allocator = _AutoAllocator()
    plan: dict[tuple[int, int], PlannedPort] = {}
    for rule_index, index, _rule, to in policy.iter_targets():
        explicit = explicit_gateway_port(to)
        if explicit is not None:
            plan[(rule_index, index)] = PlannedPort(explicit, "explicit")
        elif settings.port_default == "asmAuto":
            plan[(rule_index, index)] = allocator.plan_for(to)
        else:
            plan[(rule_index, index)] = PlannedPort(to.port.number if to.port else None, "samePort")
    return plan


class _AutoAllocator:
    """ASM's documented auto-allocation, deterministic in document order."""

    def __init__(self) -> None:
        self._stream_ports: dict[tuple[str, int], int] = {}

    def plan_for(self, to: To) -> PlannedPort:
        protocol = to.port.protocol if to.port else None
        if protocol == "GRPC":
            return PlannedPort(AUTO_GRPC_PORT, "asmAuto")
        if protocol in HTTP_FAMILY:
            return PlannedPort(AUTO_HTTP_PORT, "asmAuto")
        if protocol in STREAM_FAMILY and to.hosts and to.port and to.port.number is not None:
            return self._stream_plan((to.hosts[0], to.port.number))
        return PlannedPort(None, "asmAuto")

    def _stream_plan(self, key: tuple[str, int]) -> PlannedPort:
        if key not in self._stream_ports:
            candidate = AUTO_STREAM_FIRST + len(self._stream_ports)
            # NB: past the range the pair gets no port; V17 reports it instead of wrapping around.
            if candidate > AUTO_STREAM_LAST:
                return PlannedPort(None, "asmAuto", exhausted=True)
            self._stream_ports[key] = candidate
        return PlannedPort(self._stream_ports[key], "asmAuto")
