"""What ``egress apply``, ``diff``, ``drift`` and ``delete`` share: where the policy comes from,
which cluster to talk to (like kubectl: ``--kubeconfig``/``--context``, or a stored ``--cluster``),
and what happens after a write (print per object, record; the printing is ``cluster_output``).

Each verb's ``run`` is a ``cluster_run``: its action gets the prepared state (policy, connection,
expanded manifests) and returns the exit code; a cluster or expansion error on the way exits 1.
The verbs that write (apply, delete) share their reporting through ``reported_write``.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from policies.cli.base import (
    EXIT_INVALID,
    EXIT_OK,
    CommandIO,
    InvalidInputError,
    UsageError,
    add_file_argument,
    add_gateway_arguments,
    add_gateway_namespace_argument,
    check_input,
    format_finding,
    read_input,
    translation_settings,
)
from policies.cli.cluster_output import print_error, print_outcomes, scope_label, summary_counts
from policies.cluster.apply import ApplyResult
from policies.cluster.discovery import Target, capabilities
from policies.cluster.errors import ClusterError
from policies.cluster.interface import ClusterApi
from policies.cluster.targets import DesiredState, desired_state
from policies.core.document import parse_policy_data
from policies.core.expansion import ExpansionError
from policies.core.findings import Severity
from policies.core.gateway import GatewayDescription
from policies.core.model import EgressPolicy

EXIT_FAILED = EXIT_INVALID


@dataclass
class PolicySource:
    """A policy to act on, with the database rows it came from (when ``--policy`` named one)."""

    policy: EgressPolicy
    gateway: GatewayDescription | None = None
    stored: Any = None
    revision: Any = None


def add_cluster_arguments(
    parser: argparse.ArgumentParser,
    *,
    target: bool = True,
    file_help: str | None = None,
    policy_help: str = "a stored policy (its latest revision) instead of FILE",
) -> None:
    """FILE | --policy NAME, the cluster flags and (optionally) --target."""
    if file_help:
        parser.add_argument("file", nargs="?", metavar="FILE", help=file_help)
    else:
        add_file_argument(parser, optional=True)
    parser.add_argument("--policy", metavar="NAME", help=policy_help)
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
    add_gateway_namespace_argument(parser)
    add_gateway_arguments(parser)


def load_source(args: argparse.Namespace, io: CommandIO) -> PolicySource:
    """The policy from FILE or ``--policy``; prints the errors and raises InvalidInputError when invalid."""
    if bool(args.file) == bool(args.policy):
        raise UsageError("give exactly one of FILE or --policy NAME")
    if args.policy:
        return _stored_policy(args.policy)
    parsed, gateway = check_input(read_input(args.file, io.stdin), args)
    errors = [f for f in parsed.findings if f.severity is Severity.ERROR]
    for finding in errors:
        io.err(format_finding(args.file, finding))
    if errors or parsed.policy is None:
        raise InvalidInputError(f"{args.file} is invalid; nothing was sent to the cluster.")
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
    from policies.cluster.kubernetes_client import KubernetesClusterApi  # NB: the client is slow to import (--help)

    return KubernetesClusterApi.from_kubeconfig(args.kubeconfig, args.context), None


def desired_for(api: ClusterApi, source: PolicySource, args: argparse.Namespace) -> DesiredState:
    """The manifests for the policy on this cluster (discovery picks target and API version)."""
    settings = translation_settings(args).model_copy(update={"gateway_namespace": args.gateway_namespace})
    target: Target | None = getattr(args, "target", None)
    return desired_state(source.policy, capabilities(api), target=target, gateway=source.gateway, settings=settings)


@dataclass
class Prepared:
    """Everything a cluster subcommand (``verb``) needs before it acts."""

    verb: str
    source: PolicySource
    api: ClusterApi
    cluster: Any
    state: DesiredState


def prepare(args: argparse.Namespace, io: CommandIO, verb: str) -> Prepared:
    """Load the policy, connect, discover and expand.

    Raises:
        UsageError, InvalidInputError: as ``Subcommand.execute`` reports them.
        ExpansionError, ClusterError: as ``cluster_run`` reports them.
    """
    source = load_source(args, io)
    api, cluster = connect(args)
    return Prepared(verb, source, api, cluster, desired_for(api, source, args))


ClusterAction = Callable[[Prepared, argparse.Namespace, CommandIO], int]


def cluster_run(verb: str, act: ClusterAction) -> Callable[[argparse.Namespace, CommandIO], int]:
    """The ``run`` of a cluster verb: prepare, then ``act``; an expansion or cluster error exits 1 with its code."""

    def run(args: argparse.Namespace, io: CommandIO) -> int:
        try:
            return act(prepare(args, io, verb), args, io)
        except ExpansionError as exc:
            io.err(f"egress {verb}: error {exc.code}: {exc.message}")
        except ClusterError as exc:
            print_error(io, verb, exc)
        return EXIT_FAILED

    return run


def reported_write(
    write: Callable[[Prepared, argparse.Namespace], ApplyResult], *, dry_run_mode: str, show_target: bool = False
) -> ClusterAction:
    """The action of a verb that writes (honouring ``--dry-run``): write, print, record; exit 1 on any failure.

    Prints one row per object, then ``MODE of NS/NAME[ (target T)]: counts`` (MODE is the verb, or
    ``dry_run_mode``), then the error that stopped the run, if any.
    """

    def act(prepared: Prepared, args: argparse.Namespace, io: CommandIO) -> int:
        result, state = write(prepared, args), prepared.state
        print_outcomes(io, result)
        mode = dry_run_mode if args.dry_run else prepared.verb
        target = f" (target {state.target})" if show_target else ""
        io.out(f"{mode} of {scope_label(state.scope)}{target}: {summary_counts(result)}")
        if result.error is not None:
            print_error(io, prepared.verb, result.error)
        record(prepared, result, "dry-run" if args.dry_run else prepared.verb)
        return EXIT_OK if result.ok else EXIT_FAILED

    return act


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
