"""The building blocks of a proposal: sources folded into ``from`` items, names, gateway ports.

``propose`` decides *what* to allow; this module decides how to write it with as few items as
possible while staying valid (spec §6): workloads of one namespace that share labels become one
``from`` item selecting the shared labels; every to-entry gets a unique DNS-label name; every
entry gets a gateway port the gateway declares with a fitting protocol, stream entries
(HTTPS/TLS/TCP) one of their own (V17-V19).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from policies.core.discovery.sources import Labels, Workload
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.model import EgressPolicy, From, GatewayRef
from policies.core.portplan import plan_gateway_ports
from policies.core.validation_syntax import DNS_LABEL_MAX

SourceKey = tuple[tuple[str, Labels], ...]
HTTP_GATEWAY_PROTOCOLS = frozenset({"HTTP", "HTTP2"})
STREAM_GATEWAY_PROTOCOLS = frozenset({"HTTPS", "TLS", "TCP"})
_NOT_NAME = re.compile(r"[^a-z0-9-]+")


@dataclass(frozen=True, slots=True)
class FoldedSource:
    """One ``from`` item and the observed workloads it stands for (``broadened``: it selects fewer labels)."""

    namespace: str
    selector: Labels
    workloads: tuple[Workload, ...]

    @property
    def broadened(self) -> bool:
        """The selector drops labels some workload carries, so it also picks workloads not observed."""
        return any(workload.labels != self.selector for workload in self.workloads)

    def to_model(self) -> From:
        """The ``from`` item (no ``workloadSelector`` when the whole namespace is meant)."""
        return From(namespace=self.namespace, workloadSelector=dict(self.selector) or None)


def fold_sources(workloads: Iterable[Workload]) -> list[FoldedSource]:
    """Fewest ``from`` items selecting every workload: per namespace, the labels all its workloads
    share; when they share none, one item per workload (never the whole namespace unless a workload
    has no labels at all)."""
    by_namespace: dict[str, set[Workload]] = {}
    for workload in workloads:
        by_namespace.setdefault(workload.namespace, set()).add(workload)
    folded: list[FoldedSource] = []
    for namespace in sorted(by_namespace):
        members = sorted(by_namespace[namespace])
        shared = set(members[0].labels).intersection(*(set(w.labels) for w in members[1:]))
        if shared or any(not w.labels for w in members):
            folded.append(FoldedSource(namespace, tuple(sorted(shared)), tuple(members)))
        else:
            folded.extend(FoldedSource(namespace, w.labels, (w,)) for w in members)
    return folded


def source_key(folded: Iterable[FoldedSource]) -> SourceKey:
    """What two targets must share to go into one rule: the same ``from`` items."""
    return tuple(sorted((item.namespace, item.selector) for item in folded))


class UniqueNames:
    """DNS-1123 labels (at most 63 characters) that never repeat, seeded with the names already taken."""

    def __init__(self, taken: Iterable[str] = ()) -> None:
        self.taken = set(taken)

    def claim(self, wanted: str) -> str:
        """``wanted`` made a valid label, with ``-2``, ``-3`` ... appended until it is unused."""
        base = _NOT_NAME.sub("-", wanted.lower()).strip("-") or "target"
        if len(base) > DNS_LABEL_MAX - 9:  # NB: room for "-" + 8 hex digits of a digest.
            digest = hashlib.sha256(base.encode()).hexdigest()[:8]
            base = f"{base[: DNS_LABEL_MAX - 9].rstrip('-')}-{digest}"
        name, suffix = base, 1
        while name in self.taken:
            suffix += 1
            name = f"{base[: DNS_LABEL_MAX - len(str(suffix)) - 1].rstrip('-')}-{suffix}"
        self.taken.add(name)
        return name


@dataclass
class GatewayPorts:
    """Which gateway ports new entries may use, given the ones the base policy already uses."""

    gateway: GatewayDescription
    settings: TranslationSettings
    shared_http: set[int] = field(default_factory=set)
    owned: set[int] = field(default_factory=set)

    @classmethod
    def after(
        cls, base: EgressPolicy | None, gateway: GatewayDescription, settings: TranslationSettings
    ) -> GatewayPorts:
        """The allocator once the base policy's entries hold their ports."""
        ports = cls(gateway, settings)
        if base is None:
            return ports
        entries = {(rule_index, index): to for rule_index, index, _rule, to in base.iter_targets()}
        for key, planned in plan_gateway_ports(base, settings).items():
            port = entries[key].port
            protocol = port.protocol if port is not None else None
            if planned.number is not None:
                is_http = protocol in HTTP_GATEWAY_PROTOCOLS or protocol == "GRPC"
                (ports.shared_http if is_http else ports.owned).add(planned.number)
        return ports

    def claim(self, protocol: str, port: int) -> GatewayRef | None:
        """The gateway reference of a new entry, or None when the gateway has no fitting free port."""
        if self.settings.port_default == "asmAuto":
            return GatewayRef()  # NB: ASM allocates (HTTP 10000, one port per TLS host-port pair).
        if protocol in HTTP_GATEWAY_PROTOCOLS:
            usable = [p.number for p in self.gateway.ports if p.protocol in HTTP_GATEWAY_PROTOCOLS]
            usable = [number for number in usable if number not in self.owned]
            chosen = port if port in usable else min(usable, default=None)
            if chosen is not None:
                self.shared_http.add(chosen)
        else:
            usable = [p.number for p in self.gateway.ports if p.protocol in STREAM_GATEWAY_PROTOCOLS]
            usable = [number for number in usable if number not in self.owned | self.shared_http]
            chosen = port if port in usable else min(usable, default=None)
            if chosen is not None:
                self.owned.add(chosen)
        return GatewayRef(port=chosen) if chosen is not None else None
