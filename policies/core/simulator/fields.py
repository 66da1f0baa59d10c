"""Typed reads of hand-written Istio objects, each failure naming the object and field.

The simulator accepts any Istio object set, not only the expansion's output, so a field of the
wrong type or a feature it does not model must fail loudly with the object and path instead of
being silently misread.
"""

from __future__ import annotations

from typing import Any, NoReturn

from policies.core.i18n import _
from policies.core.simulator.request import SimulationInputError

CLUSTER_DOMAIN = "svc.cluster.local"


def _wrong_type(origin: str, path: str, expected: str, value: Any) -> NoReturn:
    raise SimulationInputError(
        "EGRESS-SIM12",
        _("{origin}: {path} must be {expected}, got {got}."),
        origin=origin,
        path=path,
        expected=expected,
        got=type(value).__name__,
    )


def not_modelled(origin: str, path: str, feature: str) -> NoReturn:
    """Refuse an Istio feature the simulator would otherwise get wrong."""
    raise SimulationInputError(
        "EGRESS-SIM13",
        _("{origin}: {path} uses {feature}, which the simulator does not model; remove it to simulate."),
        origin=origin,
        path=path,
        feature=feature,
    )


def as_map(value: Any, origin: str, path: str) -> dict[str, Any]:
    """A mapping (absent → empty)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        _wrong_type(origin, path, "a mapping", value)
    return value


def as_list(value: Any, origin: str, path: str) -> list[Any]:
    """A list (absent → empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        _wrong_type(origin, path, "a list", value)
    return value


def as_str(value: Any, origin: str, path: str, default: str = "") -> str:
    """A string (absent → ``default``)."""
    if value is None:
        return default
    if not isinstance(value, str):
        _wrong_type(origin, path, "a string", value)
    return value


def as_int(value: Any, origin: str, path: str) -> int | None:
    """An integer (absent → None); booleans are refused."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        _wrong_type(origin, path, "an integer", value)
    return value


def as_str_list(value: Any, origin: str, path: str) -> tuple[str, ...]:
    """A list of strings (absent → empty)."""
    return tuple(as_str(item, origin, f"{path}[{i}]") for i, item in enumerate(as_list(value, origin, path)))


def as_str_map(value: Any, origin: str, path: str) -> dict[str, str]:
    """A string → string mapping such as labels (absent → empty)."""
    return {str(k): as_str(v, origin, f"{path}.{k}") for k, v in as_map(value, origin, path).items()}


def check_known(data: dict[str, Any], known: frozenset[str], origin: str, path: str) -> None:
    """Refuse keys outside ``known`` (features the simulator does not model)."""
    for key in data:
        if key not in known:
            not_modelled(origin, f"{path}.{key}" if path else key, f"'{key}'")


def fqdn(host: str, namespace: str) -> str:
    """Istio's short-name rule: a host without dots means ``{host}.{namespace}.svc.cluster.local``."""
    return host if "." in host or host.startswith("*") else f"{host}.{namespace}.{CLUSTER_DOMAIN}"


def service_namespace(host: str) -> str | None:
    """The namespace of a Kubernetes Service host ``name.ns.svc.cluster.local``, else None."""
    parts = host.split(".")
    return parts[1] if len(parts) >= 3 and parts[2] == "svc" else None


class Visibility:
    """Who can see an object, from its ``exportTo`` (absent means every namespace)."""

    __slots__ = ("everyone", "namespaces")

    def __init__(self, export_to: tuple[str, ...], own_namespace: str) -> None:
        self.everyone = not export_to or "*" in export_to
        names = {own_namespace if item == "." else item for item in export_to if item not in ("*", "~")}
        self.namespaces = frozenset(names)

    def visible_to(self, namespace: str) -> bool:
        """Whether proxies in ``namespace`` import the object."""
        return self.everyone or namespace in self.namespaces

    def describe(self) -> str:
        """``*`` or the namespace list, for hops."""
        return "*" if self.everyone else ",".join(sorted(self.namespaces)) or "~"
