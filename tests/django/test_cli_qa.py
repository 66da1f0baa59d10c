"""Regressions found by exploratory testing of the ``egress`` command line (help, exit codes, output)."""

from __future__ import annotations

import argparse

import pytest

from policies.cli import load_subcommands
from policies.cli.base import parse_gateway_ports
from policies.management.commands.egress import Command


def test_the_egress_help_names_every_subcommand() -> None:
    # Given
    names = [command.name for command in load_subcommands()]

    # When
    summary = Command.help

    # Then
    assert [name for name in names if name not in summary] == []


@pytest.mark.parametrize("value", ["80/HTTP,80/HTTPS", "80/HTTP,443/HTTPS,80/HTTP"])
def test_gateway_ports_listing_a_port_number_twice_is_a_usage_error(value: str) -> None:
    # Given: a Service port number can be declared once; which protocol would port 80 have?
    # When / Then
    with pytest.raises(argparse.ArgumentTypeError, match=r"^port 80 is listed twice in '.*'; list each port once"):
        parse_gateway_ports(value)
