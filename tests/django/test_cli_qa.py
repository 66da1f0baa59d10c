"""Regressions found by exploratory testing of the ``egress`` command line (help, exit codes, output)."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from policies.cli import load_subcommands
from policies.cli.base import parse_gateway_ports
from policies.management.commands.egress import Command
from policies.seed import seed_text
from tests.fixtures.cli import REPO, SEED, egress


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


@pytest.mark.parametrize(
    "argv",
    [
        ["import", str(SEED / "scenario-2.yaml")],
        ["apply", "--policy", "egress-by-egressgateway", "--kubeconfig", "/nonexistent"],
    ],
)
def test_a_console_database_without_tables_is_a_clear_error_not_a_traceback(argv: list[str], tmp_path: Path) -> None:
    # Given: a fresh database file nobody has migrated
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}"}

    # When
    done = subprocess.run(
        [sys.executable, "manage.py", "egress", *argv], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )

    # Then
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(f"egress {argv[0]}: the console database is not usable (")
    assert done.stderr.rstrip().endswith("check DATABASE_URL and run 'python manage.py migrate' (or 'make run') first.")


@pytest.mark.parametrize(
    "argv",
    [
        ["validate", "-", "-"],
        ["simulate", "-", "-", "--source", "mytest", "--url", "http://httpbin.org"],
        ["matrix", "-", "-", "--sources", "mytest", "--urls", "http://httpbin.org"],
    ],
)
def test_stdin_named_twice_is_a_usage_error_not_an_empty_second_file(argv: list[str]) -> None:
    # Given: stdin can be read once; the second '-' would read nothing
    # When
    code, out, err = egress(*argv, stdin=seed_text("scenario-2"))

    # Then
    assert (code, out) == (2, "")
    assert err == f"egress {argv[0]}: '-' (stdin) is given 2 times; it can be read only once.\n"
