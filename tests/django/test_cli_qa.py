"""Regressions found by exploratory testing of the ``egress`` command line (help, exit codes, output)."""

from __future__ import annotations

from policies.cli import load_subcommands
from policies.management.commands.egress import Command


def test_the_egress_help_names_every_subcommand() -> None:
    # Given
    names = [command.name for command in load_subcommands()]

    # When
    summary = Command.help

    # Then
    assert [name for name in names if name not in summary] == []
