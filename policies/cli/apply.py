"""``egress apply FILE|--policy NAME``: server-side apply a policy to a cluster, prune, report per object.

Exit 0 when every object was created, configured, unchanged or pruned; 1 when anything failed
(the table and the error codes say what); 2 on usage errors.
"""

from __future__ import annotations

import argparse

from policies.cli.base import EXIT_OK, CommandIO, Subcommand
from policies.cli.cluster_options import (
    EXIT_FAILED,
    Prepared,
    add_cluster_arguments,
    prepare,
    print_error,
    print_outcomes,
    record,
    summary_counts,
)
from policies.cluster.apply import apply_objects


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The policy, cluster and target flags, plus --dry-run and --force-conflicts."""
    add_cluster_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="server-side dry run only; nothing is written")
    parser.add_argument(
        "--force-conflicts",
        action="store_true",
        help="take over fields another field manager owns (otherwise such a conflict fails)",
    )


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Apply; print one row per object and a summary line."""
    prepared = prepare(args, io, "apply")
    if not isinstance(prepared, Prepared):
        return prepared
    state = prepared.state
    result = apply_objects(
        prepared.api,
        desired=state.objects,
        scope=state.scope,
        target=state.target,
        dry_run=args.dry_run,
        force_conflicts=args.force_conflicts,
    )
    print_outcomes(io, result)
    mode = "dry run" if args.dry_run else "apply"
    io.out(f"{mode} of {state.scope.namespace}/{state.scope.name} (target {state.target}): {summary_counts(result)}")
    if result.error is not None:
        print_error(io, "apply", result.error)
    record(prepared, result, "dry-run" if args.dry_run else "apply")
    return EXIT_OK if result.ok else EXIT_FAILED


COMMAND = Subcommand(
    name="apply",
    help="Server-side apply a policy to a cluster (dry run first, then write, then prune); exit 1 on any failure.",
    add_arguments=add_arguments,
    run=run,
)
