"""A policy that allows observed flows with the fewest rules, ready to be reviewed as a draft.

From the flows a user selected, ``propose_policy`` writes an ASMEgressTrafficPolicy (or adds to
the current draft, ``base``) that lets exactly those sources reach those destinations through
the egress gateway:

- one to-entry per destination host and port (hosts[0] is the upstream, so hosts are never
  merged into one entry), protocol ``HTTP`` for HTTP, ``HTTPS`` (port 443) or ``TLS`` for TLS;
- sources folded per namespace into the labels their workloads share (``grouping``);
- destinations with the same sources go into one rule, so a team's whole egress is one rule;
- ``httpsUpgrade`` where a workload sends plain HTTP to port 80 of a host also reached on 443
  via TLS: the host serves HTTPS, so the gateway can encrypt what leaves the mesh;
- a destination already in the base draft gets the new sources on its own entry (moved into a
  rule of its own when its rule has other entries, so nothing else is widened).

Flows a policy cannot express are skipped with a stable code and a reason: plain TCP (policies
name hosts, not IP addresses), an invalid host or a reserved port, or no free gateway port. A
host the base lists with others (hosts said to resolve alike) gets its new port in an entry with
that same host list, as V11 requires. The result always passes ``validate_policy``
against the given gateway: otherwise ``ProposalError`` is raised (a bug, not a user error).

Usage::

    proposal = propose_policy(selected_flows, gateway, base=current_draft, settings=settings)
    proposal.policy            # EgressPolicy; document.policy_to_data() for YAML/JSON
    proposal.notes             # why each non-obvious choice was made
    proposal.skipped           # flows left out, each with a code and a reason
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from policies.core.discovery.flows import Flow
from policies.core.discovery.grouping import FoldedSource, GatewayPorts, UniqueNames, fold_sources, source_key
from policies.core.discovery.proposal import (
    BROADENED,
    EXTENDED_ENTRY,
    HTTPS_UPGRADE,
    INVALID_HOST,
    NO_GATEWAY_PORT,
    PROTOCOL_CONFLICT,
    RESERVED_PORT,
    SHARED_HOST_ENTRY,
    SPLIT_RULE,
    TCP_BY_ADDRESS,
    Proposal,
    ProposalError,
    ProposalNote,
    SkippedFlow,
    note,
)
from policies.core.discovery.replay import candidate_mesh, flow_request
from policies.core.discovery.sources import Workload
from policies.core.expansion import ExpansionError
from policies.core.findings import Severity
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.i18n import _
from policies.core.model import (
    DEFAULT_POLICY_NAMESPACE,
    GROUP,
    KIND,
    EgressPolicy,
    EgressRule,
    GatewayRef,
    HttpsUpgrade,
    ObjectMeta,
    PolicySpec,
    Port,
    To,
    expected_policy_name,
)
from policies.core.validation import validate_policy
from policies.core.validation_context import RESERVED_PORTS
from policies.core.validation_syntax import CLUSTER_LOCAL_SUFFIX, is_fqdn, is_ip_literal

__all__ = ["Proposal", "ProposalError", "ProposalNote", "SkippedFlow", "propose_policy"]

UPGRADE_PORT = 443
TargetKey = tuple[str, int]


def propose_policy(
    flows: Iterable[Flow],
    gateway: GatewayDescription,
    *,
    base: EgressPolicy | None = None,
    settings: TranslationSettings | None = None,
    https_upgrade: bool = True,
) -> Proposal:
    """A valid policy that allows every expressible flow, with as few rules as the grouping allows.

    Args:
        flows: The flows to allow (mesh-internal flows never reach here: the aggregator sets them aside).
        gateway: The egress gateway (its Service ports decide which gateway ports entries use).
        base: The current draft to extend; None starts an empty policy for ``gateway``.
        settings: Translation settings (``port_default`` decides how gateway ports are written).
        https_upgrade: Suggest ``httpsUpgrade`` for HTTP on port 80 to hosts also seen on 443 via TLS.

    Returns:
        The proposal; its policy passes ``validate_policy(policy, gateway, settings)`` without errors
        (None when nothing can be allowed and there is no ``base``).

    Raises:
        ProposalError: ``base`` has validation errors (it cannot be simulated).
    """
    settings = settings or TranslationSettings()
    selected = list(flows)
    already, remaining = _split_allowed(selected, base, gateway, settings)
    attempt = _Draft(base, gateway, settings, remaining, selected if https_upgrade else [])
    policy = attempt.build()
    if not (policy.spec and policy.spec.egressRules):  # NB: a policy without rules is invalid (V6).
        return Proposal(None, [], already, attempt.skipped, attempt.notes)
    findings = [f for f in validate_policy(policy, gateway, settings) if f.severity is Severity.ERROR]
    if findings and attempt.upgrades:
        attempt = _Draft(base, gateway, settings, remaining, [])
        policy = attempt.build()
        findings = [f for f in validate_policy(policy, gateway, settings) if f.severity is Severity.ERROR]
    if findings:
        raise ProposalError(_("The proposed policy does not validate."), findings)
    return Proposal(policy, attempt.covered, already, attempt.skipped, attempt.notes)


def _split_allowed(
    flows: list[Flow], base: EgressPolicy | None, gateway: GatewayDescription, settings: TranslationSettings
) -> tuple[list[Flow], list[Flow]]:
    """(flows the base already lets through, the others)."""
    if base is None:
        return [], flows
    try:
        mesh = candidate_mesh(base, gateway, settings)
    except ExpansionError as exc:
        raise ProposalError(
            _("The current draft has errors; fix them before proposing rules."), [exc.as_finding()]
        ) from exc
    allowed = [flow for flow in flows if mesh.simulate(flow_request(flow)).upstream is not None]
    kept = {id(flow) for flow in allowed}
    return allowed, [flow for flow in flows if id(flow) not in kept]


class _Draft:
    """One attempt at writing the proposal (built twice at most: with and without upgrades)."""

    def __init__(
        self,
        base: EgressPolicy | None,
        gateway: GatewayDescription,
        settings: TranslationSettings,
        flows: list[Flow],
        upgrade_evidence: list[Flow],
    ) -> None:
        self.base, self.gateway, self.settings = base, gateway, settings
        self.flows = flows
        self.upgrade_hosts = {f.key.host for f in upgrade_evidence if f.key.protocol == "TLS" and f.key.port == 443}
        self.covered: list[Flow] = []
        self.skipped: list[SkippedFlow] = []
        self.notes: list[ProposalNote] = []
        self.upgrades: list[str] = []

    def build(self) -> EgressPolicy:
        policy = self.base.model_copy(deep=True) if self.base is not None else _empty_policy(self.gateway)
        spec = policy.spec or PolicySpec()
        rules = spec.egressRules = list(spec.egressRules or [])
        policy.spec = spec
        existing = {
            (host, to.port.number): (r, t)
            for r, t, _rule, to in policy.iter_targets()
            if to.port
            for host in to.hosts or []
            if to.port.number is not None
        }
        grouped_hosts = {
            host: tuple(to.hosts or []) for _r, _t, _rule, to in policy.iter_targets() for host in to.hosts or []
        }
        targets = self._targets()
        self._extend_existing(policy, {k: v for k, v in targets.items() if k in existing}, existing)
        fresh: dict[tuple[tuple[str, ...], int], list[Flow]] = {}
        for (host, port), flows in targets.items():
            if (host, port) not in existing:
                fresh.setdefault((self._host_group(host, port, grouped_hosts), port), []).extend(flows)
        rules.extend(self._new_rules({key: self._one_protocol(flows) for key, flows in fresh.items()}, policy))
        return policy

    def _targets(self) -> dict[TargetKey, list[Flow]]:
        """Flows per (host, port), after skipping those no policy can express."""
        targets: dict[TargetKey, list[Flow]] = {}
        for flow in self.flows:
            why = _inexpressible(flow)
            if why is not None:
                self.skipped.append(SkippedFlow(flow, why))
            else:
                targets.setdefault((flow.key.host, flow.key.port), []).append(flow)
        return {key: self._one_protocol(found) for key, found in sorted(targets.items())}

    def _one_protocol(self, flows: list[Flow]) -> list[Flow]:
        """The flows of the protocol seen most on this host and port; the others are skipped."""
        counts: dict[str, int] = {}
        for flow in flows:
            counts[_policy_protocol(flow)] = counts.get(_policy_protocol(flow), 0) + flow.count
        chosen = max(sorted(counts), key=lambda protocol: counts[protocol])
        for flow in flows:
            if _policy_protocol(flow) != chosen:
                why = note(
                    PROTOCOL_CONFLICT,
                    _("{host}:{port} is seen as {chosen} more often than as {protocol}; one port has one protocol."),
                    host=flow.key.host,
                    port=flow.key.port,
                    chosen=chosen,
                    protocol=_policy_protocol(flow),
                )
                self.skipped.append(SkippedFlow(flow, why))
        return [flow for flow in flows if _policy_protocol(flow) == chosen]

    def _host_group(self, host: str, port: int, grouped: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
        """The hosts of the new entry: the draft's host group of ``host`` (V11: identical or disjoint lists)."""
        hosts = grouped.get(host, (host,))
        if hosts != (host,):
            self.notes.append(
                note(
                    SHARED_HOST_ENTRY,
                    _(
                        "{host} is listed with {hosts} in the draft, which says they resolve alike; "
                        "the new entry for port {port} lists the same hosts."
                    ),
                    host=host,
                    hosts=", ".join(h for h in hosts if h != host),
                    port=port,
                )
            )
        return hosts

    def _extend_existing(
        self, policy: EgressPolicy, targets: dict[TargetKey, list[Flow]], existing: dict[TargetKey, tuple[int, int]]
    ) -> None:
        """Add the new sources to each entry the draft already has for a destination."""
        rules = policy.spec.egressRules if policy.spec and policy.spec.egressRules is not None else []
        moves: dict[tuple[int, int], list[Flow]] = {}
        for key, flows in targets.items():
            moves.setdefault(existing[key], []).extend(flows)
        names = UniqueNames(rule.name for rule in rules if rule.name)
        for (r, t), flows in sorted(moves.items(), reverse=True):  # NB: from the end, so indexes stay right.
            self._give_sources(rules, r, t, flows, names)
            self.covered.extend(flows)

    def _give_sources(self, rules: list[EgressRule], r: int, t: int, flows: list[Flow], names: UniqueNames) -> None:
        """Let the flows' sources reach entry ``t`` of rule ``r``, and nothing else the rule allows."""
        rule, folded = rules[r], fold_sources(flow.key.source for flow in flows)
        self._note_broadened(folded)
        added, entries = _merged_from(rule, folded), rule.to or []
        entry = entries[t]
        if len(entries) == 1:
            rule.from_ = added
        else:
            entries.pop(t)
            split = EgressRule(
                name=names.claim(f"{rule.name or 'rule'}-{entry.name or 'entry'}"), from_=added, to=[entry]
            )
            rules.append(split)
            self.notes.append(
                note(
                    SPLIT_RULE,
                    _("Entry {entry} moved into a rule of its own so that its new sources reach nothing else."),
                    entry=entry.name or "",
                )
            )
        self.notes.append(
            note(
                EXTENDED_ENTRY,
                _("Entry {entry} already existed; its rule now also allows {sources}."),
                entry=entry.name or "",
                sources=_labels(folded),
            )
        )

    def _new_rules(
        self, targets: dict[tuple[tuple[str, ...], int], list[Flow]], policy: EgressPolicy
    ) -> list[EgressRule]:
        """One rule per distinct set of sources, each holding the entries those sources reach."""
        ports = GatewayPorts.after(policy, self.gateway, self.settings)
        entry_names = UniqueNames(to.name for _r, _t, _rule, to in policy.iter_targets() if to.name)
        rule_names = (
            UniqueNames(rule.name for rule in (policy.spec.egressRules or []) if rule.name)
            if policy.spec
            else UniqueNames()
        )
        grouped: dict[Any, tuple[list[FoldedSource], list[To]]] = {}
        for (hosts, port), flows in targets.items():
            entry = self._entry(hosts, port, _policy_protocol(flows[0]), ports, entry_names, flows)
            if entry is None:
                continue
            folded = fold_sources(flow.key.source for flow in flows)
            grouped.setdefault(source_key(folded), (folded, []))[1].append(entry)
            self.covered.extend(flows)
        rules: list[EgressRule] = []
        for folded, entries in grouped.values():
            self._note_broadened(folded)
            name = rule_names.claim(f"discovered-{folded[0].namespace}")
            rules.append(EgressRule(name=name, from_=[item.to_model() for item in folded], to=entries))
        return rules

    def _entry(
        self,
        hosts: tuple[str, ...],
        port: int,
        protocol: str,
        ports: GatewayPorts,
        names: UniqueNames,
        flows: list[Flow],
    ) -> To | None:
        host = hosts[0]
        ref = ports.claim(protocol, port)
        if ref is None:
            why = note(
                NO_GATEWAY_PORT,
                _(
                    "Gateway {gateway} has no free {family} port for {host}:{port}; "
                    "add a port to the gateway Service (or use portDefault asmAuto)."
                ),
                gateway=self.gateway.name,
                family="HTTP" if protocol == "HTTP" else "HTTPS/TLS/TCP",
                host=host,
                port=port,
            )
            self.skipped.extend(SkippedFlow(flow, why) for flow in flows)
            return None
        entry = To(
            name=names.claim(f"{host}-{port}"), hosts=list(hosts), port=_port(protocol, port), byEgressGateway=ref
        )
        if protocol == "HTTP" and port == 80 and self.upgrade_hosts.intersection(hosts):
            entry.httpsUpgrade = HttpsUpgrade(enabled=True, port=UPGRADE_PORT)
            self.upgrades.append(host)
            self.notes.append(
                note(
                    HTTPS_UPGRADE,
                    _(
                        "{host} is sent plain HTTP on port 80 and is also reached via TLS on 443, so it serves HTTPS: "
                        "httpsUpgrade lets the gateway encrypt what leaves the mesh."
                    ),
                    host=host,
                )
            )
        return entry

    def _note_broadened(self, folded: list[FoldedSource]) -> None:
        for item in folded:
            if item.broadened:
                self.notes.append(
                    note(
                        BROADENED,
                        _(
                            "Sources {observed} share only {selector}: "
                            "the rule selects every workload of {namespace} with those labels."
                        ),
                        observed=", ".join(w.label for w in item.workloads),
                        selector=_selector(item),
                        namespace=item.namespace,
                    )
                )


def _empty_policy(gateway: GatewayDescription) -> EgressPolicy:
    return EgressPolicy(
        apiVersion=f"{GROUP}/v1",
        kind=KIND,
        metadata=ObjectMeta(name=expected_policy_name(gateway.name), namespace=DEFAULT_POLICY_NAMESPACE),
        spec=PolicySpec(byEgressGateway=GatewayRef(name=gateway.name), egressRules=[]),
    )


def _inexpressible(flow: Flow) -> ProposalNote | None:
    """Why no policy entry can allow ``flow``, or None."""
    host, port = flow.key.host, flow.key.port
    if flow.key.protocol == "TCP":
        return note(
            TCP_BY_ADDRESS,
            _("Plain TCP to {host}:{port}: policies name hosts, and only the address was seen."),
            host=host,
            port=port,
        )
    if is_ip_literal(host.strip("[]")) or not is_fqdn(host) or host.endswith(CLUSTER_LOCAL_SUFFIX):
        return note(INVALID_HOST, _("'{host}' is not an external DNS name a policy can list."), host=host)
    if port in RESERVED_PORTS:
        return note(RESERVED_PORT, _("Port {port} is reserved by the Istio proxy."), port=port)
    return None


def _policy_protocol(flow: Flow) -> str:
    """HTTP for HTTP/1 and HTTP/2 (the sidecar's HTTP listener takes both), HTTPS on 443, TLS elsewhere."""
    if flow.key.protocol in ("HTTP", "HTTP2"):
        return "HTTP"
    return "HTTPS" if flow.key.port == UPGRADE_PORT else "TLS"


def _port(protocol: str, number: int) -> Port:
    return Port(name=f"{protocol.lower()}-{number}", number=number, protocol=protocol)


def _merged_from(rule: EgressRule, folded: list[FoldedSource]) -> list[Any]:
    items = list(rule.from_ or [])
    present = {(item.namespace, tuple(sorted((item.workloadSelector or {}).items()))) for item in items}
    items.extend(item.to_model() for item in folded if (item.namespace, item.selector) not in present)
    return items


def _labels(folded: list[FoldedSource]) -> str:
    return ", ".join(Workload(item.namespace, item.selector).label for item in folded)


def _selector(item: FoldedSource) -> str:
    return ",".join(f"{key}={value}" for key, value in item.selector) or _("(no labels: the whole namespace)")
