"""``egress crd``: the CustomResourceDefinition manifest, for ``kubectl apply -f -``."""

from __future__ import annotations

import argparse

from policies.cli.base import EXIT_OK, CommandIO, Subcommand
from policies.core.crd import crd_manifest
from policies.core.yamlio import dump_yaml


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No arguments."""


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Print the CRD as YAML."""
    io.out(dump_yaml(crd_manifest()))
    return EXIT_OK


COMMAND = Subcommand(
    name="crd",
    help="Print the ASMEgressTrafficPolicy CustomResourceDefinition (v1 storage, v1beta1 served).",
    add_arguments=add_arguments,
    run=run,
)
