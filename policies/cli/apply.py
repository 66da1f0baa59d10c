"""``egress apply --policy NAME|--review ID --user NAME --cluster NAME``, or ``egress apply FILE``.

With ``--policy``/``--review`` it applies the approved review's revision through the review's rules
and records a job, a deployment and an audit entry (``apply_reviewed``). With ``FILE`` it is an
explicit out-of-band tool: it server-side applies a local file to a cluster, unreviewed and unaudited.
Either way: plan (dry run), write, prune, report per object. Exit 0 when every object was created,
configured, unchanged or pruned; 1 when anything failed or the review's rules refused (the table and
the error codes say what); 2 on usage errors.
"""

from __future__ import annotations

import argparse

from policies.cli.apply_reviewed import run_reviewed
from policies.cli.base import CommandIO, Subcommand, UsageError
from policies.cli.cluster_options import Prepared, add_cluster_arguments, cluster_run, reported_write
from policies.cluster.apply import ApplyResult, apply_objects


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The policy, review, user, cluster and target flags, plus --dry-run and --force-conflicts."""
    add_cluster_arguments(
        parser,
        file_help="a local policy file, applied OUT OF BAND: no review, no audit entry (FILE or - for stdin)",
        policy_help="a stored policy: applies its approved review's revision (never the draft)",
    )
    parser.add_argument("--review", type=int, metavar="ID", help="the approved review to apply (default: the latest)")
    parser.add_argument("--user", metavar="NAME", help="the console user a reviewed apply acts as (an operator)")
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


apply_file = cluster_run("apply", reported_write(apply_policy, dry_run_mode="dry run", show_target=True))


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """A reviewed apply for --policy/--review, the out-of-band file apply for FILE."""
    if args.policy or args.review is not None:
        if args.file:
            raise UsageError("give FILE (out of band) or --policy/--review (reviewed), not both")
        return run_reviewed(args, io)
    return apply_file(args, io)


COMMAND = Subcommand(
    name="apply",
    help="Apply a policy's approved review to a stored cluster as a recorded job (--policy/--review, --user, "
    "--cluster), or a local FILE out of band (unreviewed, unaudited); dry run first, then write, then prune.",
    add_arguments=add_arguments,
    run=run,
)
