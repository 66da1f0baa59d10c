"""``egress drift FILE|--policy NAME``: out-of-band changes to a policy's objects on a cluster.

With ``--policy`` and ``--cluster`` the reference is the revision last applied to that cluster
(from the apply records); otherwise it is FILE or the policy's latest revision. Exit 0 when
everything is in sync, 1 when anything drifted or could not be checked (like ``kubectl diff``).
"""

from __future__ import annotations

import argparse

from policies.cli.base import EXIT_OK, CommandIO, Subcommand
from policies.cli.cluster_options import EXIT_FAILED, Prepared, add_cluster_arguments, cluster_run, desired_for
from policies.cli.cluster_output import error_detail, print_objects, scope_label
from policies.cluster.drift import DriftReport, detect_drift


def show_drift(prepared: Prepared, args: argparse.Namespace, io: CommandIO) -> int:
    """Compare live objects with the reference (see the module docstring); print one row per object."""
    reference = _use_last_applied(prepared, args, io)
    state = prepared.state
    report = detect_drift(prepared.api, desired=state.objects, scope=state.scope)
    _print_report(io, report)
    io.out(
        f"drift of {scope_label(state.scope)}: {len(report.drifted)} of {len(report.items)} "
        f"object(s) differ from {reference}"
    )
    return EXIT_FAILED if report.drifted else EXIT_OK


def _use_last_applied(prepared: Prepared, args: argparse.Namespace, io: CommandIO) -> str:
    """Switch to the revision last applied to the stored cluster, if any; returns what is compared."""
    if prepared.cluster is None or prepared.source.stored is None:
        return _named_reference(args)
    from policies.cluster.records import last_applied_revision
    from policies.core.document import parse_policy_data

    revision = last_applied_revision(prepared.source.stored, prepared.cluster)
    if revision is None:
        io.err("egress drift: no recorded apply to this cluster; comparing with the latest revision")
        return _named_reference(args)
    prepared.source.policy = parse_policy_data(revision.document).policy  # type: ignore[assignment]
    prepared.source.revision = revision
    prepared.state = desired_for(prepared.api, prepared.source, args)
    return "the last applied revision"


def _named_reference(args: argparse.Namespace) -> str:
    """FILE (``<stdin>`` for ``-``) or the stored policy's latest revision."""
    if args.policy:
        return f"the latest revision of {args.policy}"
    return "<stdin>" if args.file == "-" else str(args.file)


def _print_report(io: CommandIO, report: DriftReport) -> None:
    rows = []
    for item in report.items:
        detail = f"also managed by {', '.join(item.managers)}" if item.managers else error_detail(item.error)
        rows.append((item.ref, item.state, detail, item.changes if item.state == "modified" else []))
    print_objects(io, "STATE", rows)


COMMAND = Subcommand(
    name="drift",
    help="Report out-of-band edits of a policy's objects on a cluster; exit 1 when anything drifted.",
    add_arguments=add_cluster_arguments,
    run=cluster_run("drift", show_drift),
)
