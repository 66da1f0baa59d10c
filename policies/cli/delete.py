"""``egress delete FILE|--policy NAME``: remove every object labelled for a policy from a cluster.

Dry-run deletes of every object come first, so a missing permission deletes nothing. Exit 0
when every object is gone, 1 when anything failed.
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
from policies.cluster.delete import delete_policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The policy and cluster flags, plus --dry-run."""
    add_cluster_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="only check what would be deleted")


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Delete; print one row per object (outcome ``pruned`` means deleted)."""
    prepared = prepare(args, io, "delete")
    if not isinstance(prepared, Prepared):
        return prepared
    state = prepared.state
    result = delete_policy(prepared.api, scope=state.scope, target=state.target, dry_run=args.dry_run)
    print_outcomes(io, result)
    mode = "dry-run delete" if args.dry_run else "delete"
    io.out(f"{mode} of {state.scope.namespace}/{state.scope.name}: {summary_counts(result)}")
    if result.error is not None:
        print_error(io, "delete", result.error)
    record(prepared, result, "dry-run" if args.dry_run else "delete")
    return EXIT_OK if result.ok else EXIT_FAILED


COMMAND = Subcommand(
    name="delete",
    help="Delete every object of a policy from a cluster (by label); exit 1 on any failure.",
    add_arguments=add_arguments,
    run=run,
)
