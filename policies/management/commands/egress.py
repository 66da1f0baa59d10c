"""``python manage.py egress SUBCOMMAND``: validate, render, crd, import, simulate, matrix, apply, diff, drift, delete.

A thin dispatcher: the subcommands live in ``policies.cli`` (one module each) and are listed in
``policies.cli.SUBCOMMAND_MODULES``. The exit code is the subcommand's (0 ok, 1 invalid,
2 usage or unreadable input), also when called through ``call_command`` (as ``SystemExit``).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from policies.cli import load_subcommands
from policies.cli.base import CommandIO


class Command(BaseCommand):
    """Entry point of the egress command line."""

    help = (
        "Egress policy tools: validate, render, crd, import, simulate, matrix, "
        "the cluster verbs apply, diff, drift, delete, audit (verify the audit log's hash chain), "
        "discover (flows in Istio access logs) and replay (what a policy would break of them)."
    )
    requires_system_checks: list[str] = []  # NB: validate/render/crd must work without a configured database.

    def add_arguments(self, parser: CommandParser) -> None:
        """One sub-parser per registered subcommand."""
        subparsers = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        for command in load_subcommands():
            sub = subparsers.add_parser(command.name, help=command.help, description=command.help)
            command.add_arguments(sub)

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the chosen subcommand; a non-zero result leaves through ``SystemExit``."""
        command = next(c for c in load_subcommands() if c.name == options["subcommand"])
        code = command.execute(argparse.Namespace(**options), CommandIO(self.stdout, self.stderr, sys.stdin))
        if code:
            raise SystemExit(code)
