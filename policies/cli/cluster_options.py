"""What ``egress apply``, ``diff``, ``drift`` and ``delete`` share: where the policy comes from,
which cluster to talk to (like kubectl: ``--kubeconfig``/``--context``, or a stored ``--cluster``),
and how results print (one row per object, errors with their stable codes).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

from policies.cli.base import (
    EXIT_INVALID,
    EXIT_USAGE,
    CommandIO,
    UsageError,
    add_gateway_arguments,
    check_input,
    format_finding,
    read_input,
)
from policies.cluster.apply import ApplyResult
from policies.cluster.discovery import Target, capabilities
from policies.cluster.errors import ClusterError
from policies.cluster.interface import ClusterApi
from policies.cluster.kubernetes_client import KubernetesClusterApi
from policies.cluster.targets import DesiredState, desired_state
from policies.core.diff import Change
from policies.core.document import parse_policy_data
from policies.core.findings import Severity
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.model import EgressPolicy


class PolicyRefusedError(Exception):
    """The policy could not be loaded or is invalid; the findings were already printed (exit 1)."""


@dataclass
class PolicySource:
    """A policy to act on, with the database rows it came from (when ``--policy`` named one)."""

    policy: EgressPolicy
    gateway: GatewayDescription | None = None
    stored: Any = None
    revision: Any = None


def add_cluster_arguments(parser: argparse.ArgumentParser, *, target: bool = True) -> None:
    """FILE | --policy NAME, the cluster flags and (optionally) --target."""
    parser.add_argument("file", nargs="?", metavar="FILE", help="policy YAML/JSON file ('-' reads stdin)")
    parser.add_argument("--policy", metavar="NAME", help="a stored policy (its latest revision) instead of FILE")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="NAME", help="a cluster stored in the console")
    where.add_argument("--kubeconfig", metavar="FILE", help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config)")
    parser.add_argument("--context", metavar="NAME", help="kubeconfig context (default: the current context)")
    if target:
        parser.add_argument(
            "--target",
            choices=("asm", "istio"),
            help="apply the CR (asm) or its Istio expansion (istio); default: asm when the "
            "cluster serves our CRD, else istio",
        )
    parser.add_argument(
        "--gateway-namespace",
        default="istio-system",
        metavar="NS",
        help="namespace of the egress gateway and mesh root (default: istio-system)",
    )
    add_gateway_arguments(parser)


def load_source(args: argparse.Namespace, io: CommandIO, verb: str) -> PolicySource:
    """The policy from FILE or ``--policy``; prints the findings and raises PolicyRefusedError when invalid."""
    if bool(args.file) == bool(args.policy):
        raise UsageError("give exactly one of FILE or --policy NAME")
    if args.policy:
        return _stored_policy(args.policy)
    parsed, gateway = check_input(read_input(args.file, io.stdin), args)
    errors = [f for f in parsed.findings if f.severity is Severity.ERROR]
    for finding in errors:
        io.err(format_finding(args.file, finding))
    if errors or parsed.policy is None:
        raise PolicyRefusedError(f"egress {verb}: {args.file} is invalid; nothing was sent to the cluster.")
    return PolicySource(parsed.policy, gateway)


def _stored_policy(name: str) -> PolicySource:
    from policies.models import EgressPolicy as StoredPolicy  # NB: only --policy needs the database.

    stored = StoredPolicy.objects.select_related("gateway").filter(name=name).first()
    if stored is None:
        raise UsageError(f"no stored policy named {name!r} (see `egress import`)")
    revision = stored.revisions.order_by("-number").first()
    if revision is None:
        raise UsageError(f"policy {name!r} has no revision yet")
    parsed = parse_policy_data(revision.document)
    assert parsed.policy is not None
    return PolicySource(parsed.policy, stored.gateway.describe(), stored, revision)


def connect(args: argparse.Namespace) -> tuple[ClusterApi, Any]:
    """The cluster the flags name, and its stored row when ``--cluster`` was used."""
    if args.cluster:
        from policies.cluster.records import connect_cluster
        from policies.models import Cluster

        stored = Cluster.objects.filter(name=args.cluster).first()
        if stored is None:
            raise UsageError(f"no stored cluster named {args.cluster!r}")
        return connect_cluster(stored), stored
    return KubernetesClusterApi.from_kubeconfig(args.kubeconfig, args.context), None


def desired_for(api: ClusterApi, source: PolicySource, args: argparse.Namespace) -> DesiredState:
    """The manifests for the policy on this cluster (discovery picks target and API version)."""
    settings = TranslationSettings(gateway_namespace=args.gateway_namespace, port_default=args.port_default)
    target: Target | None = getattr(args, "target", None)
    return desired_state(source.policy, capabilities(api), target=target, gateway=source.gateway, settings=settings)


def print_error(io: CommandIO, verb: str, error: ClusterError) -> None:
    """``egress VERB: error CODE: message`` on stderr."""
    io.err(f"egress {verb}: error {error.code}: {error.message}")


def print_outcomes(io: CommandIO, result: ApplyResult, *, changes: bool = False) -> None:
    """One row per object (kind, namespace/name, outcome, error or changed fields)."""
    rows = [("KIND", "NAMESPACE/NAME", "OUTCOME", "DETAILS")]
    for o in result.outcomes:
        detail = f"{o.error.code} {o.error.message}" if o.error else ", ".join(c.dotted_path for c in o.changes)
        rows.append((o.ref.kind, f"{o.ref.namespace}/{o.ref.name}", o.outcome, detail))
        if changes and not o.error:
            rows += [("", "", "", line) for line in change_lines(o.changes)]
    print_table(io, rows)


def print_table(io: CommandIO, rows: list[tuple[str, ...]]) -> None:
    """Left-aligned columns; the last column is not padded."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        io.out("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1])


def change_lines(changes: list[Change], limit: int = 60) -> list[str]:
    """``~ spec.hosts: ['a'] -> ['b']`` lines (+ added, - removed), values shortened to ``limit``."""
    sign = {"add": "+", "remove": "-", "change": "~"}
    lines = []
    for c in changes:
        values = {
            "add": _short(c.new, limit),
            "remove": _short(c.old, limit),
            "change": f"{_short(c.old, limit)} -> {_short(c.new, limit)}",
        }[c.operation]
        lines.append(f"{sign[c.operation]} {c.dotted_path or '(object)'}: {values}")
    return lines


def _short(value: Any, limit: int) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary_counts(result: ApplyResult) -> str:
    """``2 created, 1 configured, ...`` for the outcomes present."""
    order = ("created", "configured", "unchanged", "pruned", "failed", "skipped")
    counts = {name: sum(o.outcome == name for o in result.outcomes) for name in order}
    return ", ".join(f"{n} {name}" for name, n in counts.items() if n) or "no objects"


EXIT_FAILED = EXIT_INVALID


@dataclass
class Prepared:
    """Everything a cluster subcommand needs before it acts."""

    source: PolicySource
    api: ClusterApi
    cluster: Any
    state: DesiredState


def prepare(args: argparse.Namespace, io: CommandIO, verb: str) -> Prepared | int:
    """Load the policy, connect, discover and expand; on failure print why and return the exit code."""
    from policies.core.expansion import ExpansionError

    try:
        source = load_source(args, io, verb)
        api, cluster = connect(args)
        return Prepared(source, api, cluster, desired_for(api, source, args))
    except UsageError as exc:
        io.err(f"egress {verb}: {exc}")
        return EXIT_USAGE
    except PolicyRefusedError as exc:
        io.err(str(exc))
    except ExpansionError as exc:
        io.err(f"egress {verb}: error {exc.code}: {exc.message}")
    except ClusterError as exc:
        print_error(io, verb, exc)
    return EXIT_FAILED


def record(prepared: Prepared, result: ApplyResult, action: str) -> None:
    """Store the result when the cluster is a stored one (``--cluster``)."""
    if prepared.cluster is None:
        return
    from policies.cluster.records import record_result

    record_result(
        result,
        cluster=prepared.cluster,
        scope=prepared.state.scope,
        action=action,
        policy=prepared.source.stored,
        revision=prepared.source.revision,
    )
