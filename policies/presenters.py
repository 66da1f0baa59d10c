"""Human-readable summaries the console shows next to the editable policy.

The form shows, under every to-entry, the path its traffic takes, e.g.
``app → sidecar :80 → egressgateway :80 → www.httpbin.org :443 (TLS originated)``. The path
follows the translation of spec §4: the application talks to its sidecar on the target port, the
sidecar sends it over mTLS to the gateway port chosen by the port plan, and the gateway forwards
to ``hosts[0]`` on the target port, or on the upgrade port when it originates TLS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from policies.core.findings import json_path
from policies.core.gateway import HTTP_FAMILY, GatewayDescription, TranslationSettings
from policies.core.model import EgressPolicy, To
from policies.core.portplan import plan_gateway_ports

UNKNOWN = "?"


@dataclass(frozen=True)
class HopLine:
    """The hops of one to-entry: ``steps`` as (label, port) pairs and how the last leg is carried."""

    steps: tuple[tuple[str, str], ...]
    transport: str

    @property
    def text(self) -> str:
        """One line, e.g. ``app → sidecar :80 → egressgateway :80 → httpbin.org :443 (TLS originated)``."""
        hops = " → ".join(f"{label} :{port}" if port else label for label, port in self.steps)
        return f"{hops} ({self.transport})"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form for the live preview."""
        return {"text": self.text, "steps": [list(step) for step in self.steps], "transport": self.transport}


def hop_lines(policy: EgressPolicy, gateway: GatewayDescription, settings: TranslationSettings) -> dict[str, HopLine]:
    """The hop line of every to-entry, keyed by its JSON path (``spec.egressRules[0].to[1]``)."""
    plan = plan_gateway_ports(policy, settings)
    words = hop_words()
    lines: dict[str, HopLine] = {}
    for rule_index, index, _rule, to in policy.iter_targets():
        path = json_path(("spec", "egressRules", rule_index, "to", index))
        lines[path] = hop_line(to, gateway.name, plan[(rule_index, index)].number, words)
    return lines


def hop_words() -> dict[str, str]:
    """The words of hop lines in the active language (translated once per policy, not per target)."""
    return {
        "app": _("app"),
        "sidecar": _("sidecar"),
        "originated": _("TLS originated"),
        "http": _("plain HTTP"),
        "passthrough": _("TLS passthrough"),
        "tcp": _("TCP"),
        "unknown": _("unknown protocol"),
    }


def hop_line(to: To, gateway_name: str, gateway_port: int | None, words: dict[str, str]) -> HopLine:
    """The hop line of one to-entry whose effective gateway port is ``gateway_port``."""
    client_port = _text(to.port.number if to.port else None)
    upstream_port, transport = _upstream(to, words)
    return HopLine(
        steps=(
            (words["app"], ""),
            (words["sidecar"], client_port),
            (gateway_name, _text(gateway_port)),
            ((to.hosts or [UNKNOWN])[0], upstream_port),
        ),
        transport=transport,
    )


def _upstream(to: To, words: dict[str, str]) -> tuple[str, str]:
    protocol = (to.port.protocol if to.port else None) or ""
    client_port = _text(to.port.number if to.port else None)
    upgrade = to.httpsUpgrade
    if protocol in HTTP_FAMILY and upgrade is not None and upgrade.enabled:
        return _text(upgrade.port), words["originated"]
    if protocol in HTTP_FAMILY:
        return client_port, words["http"]
    if protocol in {"HTTPS", "TLS"}:
        return client_port, words["passthrough"]
    if protocol == "TCP":
        return client_port, words["tcp"]
    return client_port, words["unknown"]


def _text(port: int | None) -> str:
    return str(port) if port is not None else UNKNOWN


def policy_summary(draft: Any) -> dict[str, Any]:
    """Counts of rules, sources and targets in a working draft, its hosts and version."""
    rules = (draft.document.get("spec") or {}).get("egressRules") or []
    targets = [to for rule in rules for to in rule.get("to") or []]
    return {
        "version": draft.version,
        "updated_at": draft.updated_at,
        "updated_by": draft.updated_by,
        "rules": len(rules),
        "sources": sum(len(rule.get("from") or []) for rule in rules),
        "targets": len(targets),
        "hosts": sorted({host for to in targets for host in to.get("hosts") or []}),
    }
