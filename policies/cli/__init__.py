"""Subcommands of ``python manage.py egress``: the registry, read without importing any of them.

Each subcommand is one module here exporting ``COMMAND`` (a ``policies.cli.base.Subcommand``).
To add one, write the module and add a ``Registered`` line to ``SUBCOMMANDS``: that is the only
registration. The registry holds what ``egress --help`` shows (name and one-line summary) and
whether the verb reads the console's database, so that the command line imports only the
chosen subcommand's module and sets Django up only when the database is needed (see
``policies.cli.main``): ``egress --help`` or ``egress validate`` never pay for the ORM, DRF or
the Kubernetes client. A new subcommand that leaves ``database`` alone gets the database.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Container
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from policies.cli.base import Subcommand

DESCRIPTION = (
    "Egress policy tools: validate, render, crd, import, simulate, matrix, "
    "the cluster verbs apply, diff, drift, delete, audit (verify the audit log's hash chain), "
    "cluster (the stored clusters), discover (flows in Istio access logs) and replay (what a policy "
    "would break of them)."
)


def always(_args: argparse.Namespace) -> bool:
    """The verb reads the console's database whatever the flags."""
    return True


def never(_args: argparse.Namespace) -> bool:
    """The verb works on files and flags only."""
    return False


STORED_ROW_FLAGS = ("policy", "cluster", "review", "user")


def names_stored_rows(args: argparse.Namespace) -> bool:
    """The verb reads the database only when a flag names a stored row (``--policy``, ``--cluster``, ...)."""
    return any(getattr(args, flag, None) is not None for flag in STORED_ROW_FLAGS)


@dataclass(frozen=True)
class Registered:
    """One subcommand as the registry knows it, before its module is imported."""

    name: str
    module: str
    summary: str
    database: Callable[[argparse.Namespace], bool] = always

    def load(self) -> Subcommand:
        """The subcommand itself (imports its module)."""
        command: Subcommand = import_module(self.module).COMMAND
        return command


SUBCOMMANDS = (
    Registered("validate", "policies.cli.validate", "check policy files against every offline rule", never),
    Registered("render", "policies.cli.render", "print a policy as the CR or its Istio objects", never),
    Registered("crd", "policies.cli.crd", "print the ASMEgressTrafficPolicy CRD", never),
    Registered("import", "policies.cli.importing", "store a policy file as its gateway's draft"),
    Registered("apply", "policies.cli.apply", "server-side apply a policy to a cluster", names_stored_rows),
    Registered("diff", "policies.cli.diff", "what apply would change on a cluster", names_stored_rows),
    Registered("drift", "policies.cli.drift", "out-of-band edits of a policy's objects", names_stored_rows),
    Registered("delete", "policies.cli.delete", "delete a policy's objects from a cluster", names_stored_rows),
    Registered("simulate", "policies.cli.simulate", "simulate one request through the Istio objects", never),
    Registered("matrix", "policies.cli.matrix", "reachability table of sources by URLs", never),
    Registered("audit", "policies.cli.audit", "verify the audit log's hash chain"),
    Registered("cluster", "policies.cli.cluster", "list the stored clusters or check one"),
    Registered("discover", "policies.cli.discover", "external flows seen in Istio access logs", never),
    Registered("replay", "policies.cli.replay", "what a policy would break of logged flows", names_stored_rows),
)


def registered(name: str) -> Registered:
    """The registry entry of subcommand ``name``."""
    return next(entry for entry in SUBCOMMANDS if entry.name == name)


def load_subcommands() -> list[Subcommand]:
    """Every registered subcommand, in registration order (imports every module)."""
    return [entry.load() for entry in SUBCOMMANDS]


def add_subcommands(parser: argparse.ArgumentParser, *, loaded: Container[str]) -> None:
    """One sub-parser per subcommand; only those named in ``loaded`` get their arguments (and are imported).

    The others show in ``--help`` with their summary; argparse never parses into them, because the
    command line loads the one its first word names.
    """
    subparsers = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
    for entry in SUBCOMMANDS:
        if entry.name not in loaded:
            subparsers.add_parser(entry.name, help=entry.summary)
            continue
        command = entry.load()
        sub = subparsers.add_parser(entry.name, help=entry.summary, description=command.help)
        command.add_arguments(sub)
