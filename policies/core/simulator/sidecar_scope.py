"""``Sidecar`` resources: which services, VirtualServices and outbound mode a sidecar gets.

Istio picks one Sidecar per proxy (``pilot/pkg/model/sidecar.go``): one in the proxy's namespace
whose ``workloadSelector`` matches its labels, else the one without selector in its namespace,
else the one without selector in the root namespace; none means every exported object. Its
``egress[].hosts`` (``namespace/dnsName``; namespace ``*``, ``.`` for the Sidecar's own, ``~`` for
none) narrow what the proxy imports on top of ``exportTo``; ``.`` is the proxy's own namespace,
which for the root namespace's default is the namespace it is applied to (``convertIstioListenerToWrapper``
gets the proxy's config namespace). ``outboundTrafficPolicy`` overrides the mesh config's mode for
those proxies; a Sidecar without one falls back to the mesh config, not to the root namespace's
Sidecar (``initSidecarScopeInternalIndexes``). Egress ports, binds and capture modes are refused:
they change listeners in ways the simulator does not model. ``ingress`` and ``inboundConnectionPool``
only shape the workload's inbound listeners, which no outbound request meets, so they are read past.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from policies.core.simulator.fields import as_list, as_map, as_str, as_str_list, as_str_map, check_known, not_modelled
from policies.core.simulator.hosts import host_matches

ROOT_NAMESPACE = "istio-system"
INBOUND_ONLY = frozenset({"ingress", "inboundConnectionPool"})
_SPEC_KEYS = frozenset({"workloadSelector", "egress", "outboundTrafficPolicy", *INBOUND_ONLY})
_EGRESS_KEYS = frozenset({"hosts"})
MODES = ("REGISTRY_ONLY", "ALLOW_ANY")


@dataclass(frozen=True, slots=True)
class SidecarScope:
    """One Sidecar resource, read."""

    ref: str
    namespace: str
    selector: tuple[tuple[str, str], ...] | None
    egress: tuple[tuple[str, str], ...] | None  # (namespace pattern, host pattern); None: no egress listed
    outbound_mode: str | None
    created: str = ""

    def selects(self, labels: dict[str, str]) -> bool:
        """A Sidecar with a selector applies to the workloads carrying all its labels."""
        return self.selector is not None and all(labels.get(k) == v for k, v in self.selector)

    def imports(self, object_namespace: str, host: str, proxy_namespace: str) -> bool:
        """Whether proxies in ``proxy_namespace`` under this Sidecar import a service (or VirtualService) of that
        host (the proxy's namespace, not the Sidecar's: the root namespace's default serves every namespace)."""
        if self.egress is None:
            return True
        return any(
            _namespace_matches(pattern, object_namespace, proxy_namespace) and host_matches(host_pattern, host)
            for pattern, host_pattern in self.egress
        )


def _namespace_matches(pattern: str, object_namespace: str, proxy_namespace: str) -> bool:
    if pattern == "*":
        return True
    if pattern == "~":
        return False
    return object_namespace == (proxy_namespace if pattern == "." else pattern)


def read_sidecar(ref: str, namespace: str, spec: dict[str, Any], created: str) -> SidecarScope:
    """A Sidecar spec as a scope record."""
    check_known(spec, _SPEC_KEYS, ref, "spec")
    selector = spec.get("workloadSelector")
    labels = as_str_map(as_map(selector, ref, "spec.workloadSelector").get("labels"), ref, "spec.workloadSelector")
    egress: list[tuple[str, str]] | None = None
    if spec.get("egress") is not None:
        egress = []
        for i, item in enumerate(as_list(spec.get("egress"), ref, "spec.egress")):
            listener = as_map(item, ref, f"spec.egress[{i}]")
            check_known(listener, _EGRESS_KEYS, ref, f"spec.egress[{i}]")
            egress.extend(
                _egress_host(h, ref, f"spec.egress[{i}].hosts")
                for h in as_str_list(listener.get("hosts"), ref, f"spec.egress[{i}].hosts")
            )
    policy = as_map(spec.get("outboundTrafficPolicy"), ref, "spec.outboundTrafficPolicy")
    mode = as_str(policy.get("mode"), ref, "spec.outboundTrafficPolicy.mode") or None
    if mode is not None and mode not in MODES:
        not_modelled(ref, "spec.outboundTrafficPolicy.mode", f"mode '{mode}'")
    if set(policy) - {"mode"}:
        not_modelled(ref, "spec.outboundTrafficPolicy", "an egress proxy")
    return SidecarScope(
        ref=ref,
        namespace=namespace,
        selector=tuple(sorted(labels.items())) if selector is not None else None,
        egress=tuple(egress) if egress is not None else None,
        outbound_mode=mode,
        created=created,
    )


def _egress_host(value: str, ref: str, path: str) -> tuple[str, str]:
    namespace, sep, host = value.partition("/")
    if not sep or not namespace or not host:
        not_modelled(ref, path, f"egress host '{value}' (expected namespace/dnsName)")
    return namespace, host.lower()


def scope_for(sidecars: list[SidecarScope], namespace: str, labels: dict[str, str]) -> SidecarScope | None:
    """The Sidecar that configures a proxy: selector match in its namespace, else its namespace's
    default, else the root namespace's default (the oldest first where several qualify)."""
    ordered = sorted(sidecars, key=lambda s: (s.created, s.ref))
    own = [s for s in ordered if s.namespace == namespace]
    for candidates in (
        [s for s in own if s.selects(labels)],
        [s for s in own if s.selector is None],
        [s for s in ordered if s.namespace == ROOT_NAMESPACE and s.selector is None],
    ):
        if candidates:
            return candidates[0]
    return None
