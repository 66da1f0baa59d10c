"""``egress cluster list|check NAME``: the stored clusters and their last check, or a check now.

``check`` runs the same check as the console's "Check connection" (discovery, the mesh's outbound
traffic mode, drift of every applied policy), stores it, and prints it; it exits 1 when the
cluster could not be reached or refused us, so a script can gate on it. The command line runs as
the host's operator, outside the console's roles.
"""

from __future__ import annotations

import argparse
from typing import Any

from policies.cli.base import EXIT_INVALID, EXIT_OK, CommandIO, Subcommand, UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``list``, or ``check NAME``."""
    parser.add_argument("action", choices=["list", "check"], help="list: every cluster; check: check one now.")
    parser.add_argument("name", nargs="?", help="the cluster to check")


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Print the clusters, or check one (exit 1 when it is unreachable)."""
    from policies.models import Cluster  # NB: the ORM only when this verb runs

    if args.action == "list":
        if args.name:
            raise UsageError("`cluster list` takes no NAME")
        _print_table(io, list(Cluster.objects.all()))
        return EXIT_OK
    if not args.name:
        raise UsageError("`cluster check` needs the NAME of a stored cluster")
    cluster = Cluster.objects.filter(name=args.name).first()
    if cluster is None:
        raise UsageError(f"no stored cluster named {args.name!r} (see `egress cluster list`)")
    return _check(cluster, io)


def _check(cluster: Any, io: CommandIO) -> int:
    from policies.cluster_status import policy_statuses
    from policies.clusters import check_cluster

    check_cluster(cluster)
    _print_table(io, [cluster])
    if cluster.check_error_code:
        io.err(f"egress cluster: error {cluster.check_error_code}: {cluster.check_error_message}")
        return EXIT_INVALID
    if cluster.outbound_error_code:
        io.err(
            f"egress cluster: outbound mode unknown: {cluster.outbound_error_code}: {cluster.outbound_error_message}"
        )
    elif cluster.outbound_mode == "ALLOW_ANY":
        io.err("egress cluster: warning: the mesh is in ALLOW_ANY mode; an egress policy restricts nothing there")
    _warn_sidecars(cluster, io)
    for status in policy_statuses(cluster):
        applied = status.applied
        io.out(f"  {applied.policy.name} r{applied.revision.number} ({applied.target or '-'}): {status.drift}")
    return EXIT_OK


def _warn_sidecars(cluster: Any, io: CommandIO) -> None:
    from policies.clusters import ClusterSidecars

    sidecars = ClusterSidecars.of(cluster)
    if sidecars.state == "unknown":
        io.err(
            f"egress cluster: Sidecars unknown: {sidecars.error_code}: {sidecars.error_message}; "
            "simulations with this cluster use the mesh-wide mode alone"
        )
    for override in sidecars.allow_any:
        where = f"{override.workloads} in {override.namespace}" if override.workloads else override.namespace
        io.err(f"egress cluster: warning: Sidecar {override.namespace}/{override.name} sets ALLOW_ANY for {where}")
    for item in sidecars.unmodelled:
        io.err(f"egress cluster: Sidecar {item['sidecar']} cannot be simulated: {item['message']}")


def _print_table(io: CommandIO, clusters: list[Any]) -> None:
    rows = [("NAME", "REACHABLE", "TARGETS", "OUTBOUND MODE", "SOURCE", "CHECKED")]
    rows += [
        (
            c.name,
            {None: "-", True: "yes", False: f"no ({c.check_error_code})"}[c.reachable],
            ",".join(c.targets) or "-",
            c.outbound_mode or "-",
            c.outbound_mode_source or "-",
            c.checked_at.strftime("%Y-%m-%d %H:%M:%S") if c.checked_at else "never",
        )
        for c in clusters
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        io.out("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


COMMAND = Subcommand(
    name="cluster",
    help="List the stored clusters with their last check, or check one now (exit 1 when unreachable).",
    add_arguments=add_arguments,
    run=run,
)
