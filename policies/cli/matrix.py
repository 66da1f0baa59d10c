"""``egress matrix [FILE ...] --sources NS[:labels] ... --urls URL ...``: who reaches what.

Every source against every URL through the same simulator as ``egress simulate``, printed as a
table of statuses (sources as rows, URLs as columns) or, with ``--json``, as
``{"sources": [...], "urls": [...], "cells": [[{status, upstream, reason}, ...], ...]}``.
Exit codes as for ``simulate``.
"""

from __future__ import annotations

import argparse

from policies.cli.base import EXIT_OK, CommandIO, Subcommand, UsageError, to_json
from policies.cli.simulate import add_mesh_arguments, mesh_from_files
from policies.core.simulator import ReachabilityMatrix, SimulationInputError, Source, parse_url, reachability_matrix
from policies.core.simulator.request import parse_method

CORNER = "SOURCE \\ URL"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--sources`` and ``--urls`` (one or more each, and repeatable) plus the shared mesh flags."""
    # NB: "extend": `--sources A --sources B` means both, never only the last (issue 10, item 12).
    parser.add_argument(
        "--sources", nargs="+", action="extend", required=True, metavar="NS[:KEY=VALUE,...]", help="client workloads"
    )
    parser.add_argument("--urls", nargs="+", action="extend", required=True, metavar="URL", help="request URLs")
    add_mesh_arguments(parser)


def _inputs(args: argparse.Namespace) -> tuple[list[Source], list[str], str]:
    try:
        sources = [Source.parse(text) for text in args.sources]
        for url in args.urls:
            parse_url(url)
        return sources, list(args.urls), parse_method(args.method)
    except SimulationInputError as exc:
        raise UsageError(exc.message) from exc


def format_matrix(matrix: ReachabilityMatrix) -> str:
    """A fixed-width table of statuses; the first column names the source."""
    rows = [[CORNER, *matrix.urls]]
    rows += [
        [source.label, *(str(r.status) for r in row)]
        for source, row in zip(matrix.sources, matrix.results, strict=True)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Simulate every source against every URL and print the table."""
    sources, urls, method = _inputs(args)
    matrix = reachability_matrix(mesh_from_files(args, io), sources, urls, method)
    io.out(to_json(matrix.as_dict()) if args.json else format_matrix(matrix))
    return EXIT_OK


COMMAND = Subcommand(
    name="matrix",
    help="Reachability table: the status every source gets for every URL through the policies' Istio objects.",
    add_arguments=add_arguments,
    run=run,
)
