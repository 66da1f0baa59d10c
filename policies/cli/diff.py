"""``egress diff FILE|--policy NAME``: what an apply would change, field by field, from a server dry run.

The desired side is the API server's dry-run answer, so defaults and normalisation never show
as changes. Exit 0 when the plan could be made (whatever it contains), 1 when the server
refused an object or could not be reached.
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
from policies.cluster.diff import Plan, plan_changes
from policies.cluster.errors import ClusterError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The policy, cluster and target flags."""
    add_cluster_arguments(parser)


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Plan; print each object's action and changed fields, then the plan summary."""
    prepared = prepare(args, io, "diff")
    if not isinstance(prepared, Prepared):
        return prepared
    state = prepared.state
    try:
        plan = plan_changes(prepared.api, desired=state.objects, scope=state.scope)
    except ClusterError as exc:
        print_error(io, "diff", exc)
        return EXIT_FAILED
    _print_plan(io, plan)
    io.out(f"plan for {state.scope.namespace}/{state.scope.name} (target {state.target}): {plan.summary}")
    return EXIT_FAILED if plan.errors else EXIT_OK


def _print_plan(io: CommandIO, plan: Plan) -> None:
    rows = [("KIND", "NAMESPACE/NAME", "ACTION", "CHANGES")]
    for p in plan.objects:
        action = "failed" if p.error else p.action
        detail = f"{p.error.code} {p.error.message}" if p.error else ""
        rows.append((p.ref.kind, f"{p.ref.namespace}/{p.ref.name}", action, detail))
        if not p.error and p.action == "change":
            rows += [("", "", "", line) for line in change_lines(p.changes)]
    print_table(io, rows)


COMMAND = Subcommand(
    name="diff",
    help="Show what `egress apply` would change on a cluster (server-side dry run vs live).",
    add_arguments=add_arguments,
    run=run,
)
