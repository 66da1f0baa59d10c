"""``egress drift FILE|--policy NAME``: out-of-band changes to a policy's objects on a cluster.

With ``--policy`` and ``--cluster`` the reference is the revision last applied to that cluster
(from the apply records); otherwise it is FILE or the policy's latest revision. Exit 0 when
everything is in sync, 1 when anything drifted or could not be checked (like ``kubectl diff``).
"""

from __future__ import annotations

import argparse

from policies.cli.base import EXIT_OK, CommandIO, Subcommand
from policies.cli.cluster_options import (
    EXIT_FAILED,
    Prepared,
    add_cluster_arguments,
    change_lines,
    prepare,
    print_error,
    print_table,
)
from policies.cluster.drift import DriftReport, detect_drift
from policies.cluster.errors import ClusterError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The policy, cluster and target flags."""
    add_cluster_arguments(parser)


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Compare live objects with the last applied revision; print one row per object."""
    prepared = prepare(args, io, "drift")
    if not isinstance(prepared, Prepared):
        return prepared
    _use_last_applied(prepared, args, io)
    state = prepared.state
    try:
        report = detect_drift(prepared.api, desired=state.objects, scope=state.scope)
    except ClusterError as exc:
        print_error(io, "drift", exc)
        return EXIT_FAILED
    _print_report(io, report)
    io.out(
        f"drift of {state.scope.namespace}/{state.scope.name}: {len(report.drifted)} of {len(report.items)} "
        f"object(s) differ from the last applied revision"
    )
    return EXIT_FAILED if report.drifted else EXIT_OK


def _use_last_applied(prepared: Prepared, args: argparse.Namespace, io: CommandIO) -> None:
    if prepared.cluster is None or prepared.source.stored is None:
        return
    from policies.cli.cluster_options import desired_for
    from policies.cluster.records import last_applied_revision
    from policies.core.document import parse_policy_data

    revision = last_applied_revision(prepared.source.stored, prepared.cluster)
    if revision is None:
        io.err("egress drift: no recorded apply to this cluster; comparing with the latest revision")
        return
    prepared.source.policy = parse_policy_data(revision.document).policy  # type: ignore[assignment]
    prepared.source.revision = revision
    prepared.state = desired_for(prepared.api, prepared.source, args)


def _print_report(io: CommandIO, report: DriftReport) -> None:
    rows = [("KIND", "NAMESPACE/NAME", "STATE", "DETAILS")]
    for item in report.items:
        detail = f"{item.error.code} {item.error.message}" if item.error else ""
        if item.managers:
            detail = f"also managed by {', '.join(item.managers)}"
        rows.append((item.ref.kind, f"{item.ref.namespace}/{item.ref.name}", item.state, detail))
        if item.state == "modified":
            rows += [("", "", "", line) for line in change_lines(item.changes)]
    print_table(io, rows)


COMMAND = Subcommand(
    name="drift",
    help="Report out-of-band edits of a policy's objects on a cluster; exit 1 when anything drifted.",
    add_arguments=add_arguments,
    run=run,
)
