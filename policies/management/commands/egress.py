"""``python manage.py egress SUBCOMMAND`` run in-process (``call_command``); see ``policies.cli.main``.

``manage.py egress ...`` from a shell goes through ``policies.cli.main`` instead, which starts
in a fraction of the time because it sets Django up only when the verb needs the database.
This command serves ``call_command("egress", ...)`` (tests, other commands) with the same
registry (``policies.cli.SUBCOMMANDS``) and the same subcommands. The exit code is the
subcommand's (0 ok, 1 invalid, 2 usage or unreadable input), raised as ``SystemExit``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from policies.cli import DESCRIPTION, SUBCOMMANDS, add_subcommands, registered
from policies.cli.base import CommandIO


class Command(BaseCommand):
    """Entry point of the egress command line inside a running Django project."""

    help = DESCRIPTION
    requires_system_checks: list[str] = []  # NB: validate/render/crd must work without a configured database.

    def add_arguments(self, parser: CommandParser) -> None:
        """One sub-parser per registered subcommand, each with its arguments."""
        add_subcommands(parser, loaded={entry.name for entry in SUBCOMMANDS})

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the chosen subcommand; a non-zero result leaves through ``SystemExit``."""
        command = registered(options["subcommand"]).load()
        code = command.execute(argparse.Namespace(**options), CommandIO(self.stdout, self.stderr, sys.stdin))
        if code:
            raise SystemExit(code)
