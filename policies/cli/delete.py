"""``egress delete FILE|--policy NAME``: remove every object labelled for a policy from a cluster.

Dry-run deletes of every object come first, so a missing permission deletes nothing. Exit 0
when every object is gone, 1 when anything failed (outcome ``pruned`` means deleted).
"""

from __future__ import annotations

import argparse

from policies.cli.base import Subcommand
from policies.cli.cluster_options import Prepared, add_cluster_arguments, cluster_run, reported_write
from policies.cluster.apply import ApplyResult
from policies.cluster.delete import delete_policy


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The policy and cluster flags, plus --dry-run."""
    add_cluster_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="only check what would be deleted")


def delete_objects(prepared: Prepared, args: argparse.Namespace) -> ApplyResult:
    """Delete every object labelled for the policy."""
    state = prepared.state
    return delete_policy(prepared.api, scope=state.scope, target=state.target, dry_run=args.dry_run)


COMMAND = Subcommand(
    name="delete",
    help="Delete every object of a policy from a cluster (by label); exit 1 on any failure.",
    add_arguments=add_arguments,
    run=cluster_run("delete", reported_write(delete_objects, dry_run_mode="dry-run delete")),
)
