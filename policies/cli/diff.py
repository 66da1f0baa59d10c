"""``egress diff FILE|--policy NAME``: what an apply would change, field by field, from a server dry run.

The desired side is the API server's dry-run answer, so defaults and normalisation never show
as changes. Exit 0 when the plan could be made (whatever it contains), 1 when the server
refused an object or could not be reached.
"""

from __future__ import annotations

import argparse

from policies.cli.base import EXIT_OK, CommandIO, Subcommand
from policies.cli.cluster_options import EXIT_FAILED, Prepared, add_cluster_arguments, cluster_run
from policies.cli.cluster_output import error_detail, print_objects, scope_label
from policies.cluster.diff import Plan, plan_changes


def show_plan(prepared: Prepared, args: argparse.Namespace, io: CommandIO) -> int:
    """Plan; print each object's action and changed fields, then the plan summary."""
    state = prepared.state
    plan = plan_changes(prepared.api, desired=state.objects, scope=state.scope)
    _print_plan(io, plan)
    io.out(f"plan for {scope_label(state.scope)} (target {state.target}): {plan.summary}")
    return EXIT_FAILED if plan.errors else EXIT_OK


def _print_plan(io: CommandIO, plan: Plan) -> None:
    rows = []
    for p in plan.objects:
        shown = p.changes if not p.error and p.action == "change" else []  # NB: a prune's changes are the whole object.
        rows.append((p.ref, "failed" if p.error else p.action, error_detail(p.error), shown))
    print_objects(io, "ACTION", rows)


COMMAND = Subcommand(
    name="diff",
    help="Show what `egress apply` would change on a cluster (server-side dry run vs live).",
    add_arguments=add_cluster_arguments,
    run=cluster_run("diff", show_plan),
)
