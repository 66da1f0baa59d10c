"""``egress apply FILE|--policy NAME``: server-side apply a policy to a cluster, prune, report per object.

Exit 0 when every object was created, configured, unchanged or pruned; 1 when anything failed
(the table and the error codes say what); 2 on usage errors.
"""

from __future__ import annotations

import argparse

from policies.cli.base import Subcommand
from policies.cli.cluster_options import Prepared, add_cluster_arguments, cluster_run, reported_write
from policies.cluster.apply import ApplyResult, apply_objects


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The policy, cluster and target flags, plus --dry-run and --force-conflicts."""
    add_cluster_arguments(parser)
    parser.add_argument("--dry-run", action="store_true", help="server-side dry run only; nothing is written")
    parser.add_argument(
        "--force-conflicts",
        action="store_true",
        help="take over fields another field manager owns (otherwise such a conflict fails)",
    )


def apply_policy(prepared: Prepared, args: argparse.Namespace) -> ApplyResult:
    """Apply the policy's objects (dry run first, then write, then prune)."""
    state = prepared.state
    return apply_objects(
        prepared.api,
        desired=state.objects,
        scope=state.scope,
        target=state.target,
        dry_run=args.dry_run,
        force_conflicts=args.force_conflicts,
    )


COMMAND = Subcommand(
    name="apply",
    help="Server-side apply a policy to a cluster (dry run first, then write, then prune); exit 1 on any failure.",
    add_arguments=add_arguments,
    run=cluster_run("apply", reported_write(apply_policy, dry_run_mode="dry run", show_target=True)),
)
