"""What every validation rule sees: the policy, the gateway, the settings, precomputed indexes.

Rules are small functions ``rule(context) -> findings``. Cross-entry rules (unique names,
host groups, gateway-port sharing) need to know about *other* entries; the context computes
those lookups once, in one pass in document order, so that every rule stays linear in the size
of the policy (the benchmark validates 10,000 to-entries).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from policies.core.findings import Finding, Severity
from policies.core.gateway import GatewayDescription, GatewayPort, TranslationSettings
from policies.core.model import EgressPolicy, EgressRule, To
from policies.core.portplan import PlannedPort, plan_gateway_ports

RESERVED_PORTS = (15000, 15001, 15004, 15006, 15008, 15009, 15020, 15021, 15053, 15090)
SUPPORTED_PROTOCOLS = ("HTTP", "HTTPS", "TLS", "TCP")
HTTP_FAMILY_EXTRAS = ("GRPC", "HTTP2")


@dataclass(frozen=True, slots=True)
class Target:
    """One to-entry with its position in the document and its JSON path (``spec.egressRules[0].to[1]``)."""

    rule_index: int
    index: int
    rule: EgressRule
    to: To
    path: str = field(init=False)  # NB: built once; every rule uses it, on 10,000-entry policies too.

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", f"spec.egressRules[{self.rule_index}].to[{self.index}]")

    @property
    def key(self) -> tuple[int, int]:
        """(rule index, entry index): the entry's identity in indexes."""
        return (self.rule_index, self.index)

    @property
    def protocol(self) -> str | None:
        """The entry's ``port.protocol`` (upper-cased by the model), if any."""
        return self.to.port.protocol if self.to.port else None


@dataclass
class ValidationContext:
    """Inputs of one validation run.

    ``gateway_is_authoritative`` is true when the caller described the gateway (the console's
    database, the CLI's ``--gateway-ports``): port mismatches are then errors. With the default
    seed gateway they are warnings, since the real gateway may differ.
    """

    policy: EgressPolicy
    gateway: GatewayDescription
    settings: TranslationSettings
    gateway_is_authoritative: bool
    targets: list[Target] = field(init=False)

    def __post_init__(self) -> None:
        self.targets = [Target(r, t, rule, to) for r, t, rule, to in self.policy.iter_targets()]

    @cached_property
    def gateway_ports(self) -> dict[tuple[int, int], PlannedPort]:
        """Effective gateway port of every entry (explicit, samePort or asmAuto)."""
        return plan_gateway_ports(self.policy, self.settings)

    @cached_property
    def _declared_ports(self) -> dict[int, GatewayPort]:
        return {port.number: port for port in self.gateway.ports}

    def declared_port(self, number: int) -> GatewayPort | None:
        """The gateway Service port with this number (a dict lookup: gateways may declare thousands)."""
        return self._declared_ports.get(number)

    @property
    def gateway_name(self) -> str | None:
        """``spec.byEgressGateway.name`` when it is a non-empty string."""
        return self.policy.gateway_name or None


Rule = Callable[[ValidationContext], Iterable[Finding]]


def code(rule_id: str) -> str:
    """The stable finding code of a spec §6 rule id: ``V12`` → ``EGRESS-V12``."""
    return f"EGRESS-{rule_id.upper()}"


def error(rule_id: str, path: str, template: str, **params: Any) -> Finding:
    """A finding that blocks saving and applying."""
    return Finding(code(rule_id), Severity.ERROR, path, template, params)


def warning(rule_id: str, path: str, template: str, **params: Any) -> Finding:
    """A finding shown as a notice; the policy can still be saved."""
    return Finding(code(rule_id), Severity.WARNING, path, template, params)


def info(rule_id: str, path: str, template: str, **params: Any) -> Finding:
    """Background information about how the policy will be handled."""
    return Finding(code(rule_id), Severity.INFO, path, template, params)


def error_or_warning(authoritative: bool, rule_id: str, path: str, template: str, **params: Any) -> Finding:
    """An error when the gateway description is authoritative, else a warning."""
    return (error if authoritative else warning)(rule_id, path, template, **params)
