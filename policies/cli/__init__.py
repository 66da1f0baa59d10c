"""Subcommands of ``python manage.py egress``.

Each subcommand is one module here exporting ``COMMAND`` (a ``policies.cli.base.Subcommand``).
To add one, write the module and add its dotted path to ``SUBCOMMAND_MODULES``: that is the
only registration. Modules are imported lazily, so a subcommand that needs the database (or
the cluster) costs nothing to the others.
"""

from __future__ import annotations

from importlib import import_module

from policies.cli.base import Subcommand

SUBCOMMAND_MODULES = (
    "policies.cli.validate",
    "policies.cli.render",
    "policies.cli.crd",
    "policies.cli.importing",
    "policies.cli.apply",
    "policies.cli.diff",
    "policies.cli.drift",
    "policies.cli.delete",
    "policies.cli.simulate",
    "policies.cli.matrix",
    "policies.cli.audit",
    "policies.cli.cluster",
    "policies.cli.discover",
    "policies.cli.replay",
)


def load_subcommands() -> list[Subcommand]:
    """Every registered subcommand, in registration order."""
    return [import_module(module).COMMAND for module in SUBCOMMAND_MODULES]
