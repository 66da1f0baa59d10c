"""``egress audit verify``: check the audit log's hash chain, naming the first broken entry."""

from __future__ import annotations

import argparse

from policies.cli.base import EXIT_INVALID, EXIT_OK, CommandIO, Subcommand


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``verify`` is the only action."""
    parser.add_argument("action", choices=["verify"], help="verify: recompute every entry's hash and link.")


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Exit 0 when every entry verifies, 1 naming the first one that does not."""
    from policies.audit import broken_link  # NB: the ORM only when this verb runs
    from policies.models import AuditEntry

    broken = broken_link()
    if broken is not None:
        io.err(f"egress audit: entry {broken.entry_id} is broken: {broken.reason}")
        return EXIT_INVALID
    io.out(f"audit chain verified: {AuditEntry.objects.count()} entries")
    return EXIT_OK


COMMAND = Subcommand(
    name="audit",
    help="Verify the audit log's hash chain (exit 1 naming the first broken entry).",
    add_arguments=add_arguments,
    run=run,
)
