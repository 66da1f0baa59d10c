"""``egress validate FILE...``: every finding of every file, as text or JSON."""

from __future__ import annotations

import argparse
from collections import Counter

from policies.cli.base import (
    EXIT_USAGE,
    CommandIO,
    Subcommand,
    UsageError,
    add_gateway_arguments,
    check_input,
    display_name,
    exit_code_for,
    finding_record,
    format_finding,
    read_input,
    read_stdin_once,
    to_json,
)
from policies.core.findings import Finding


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE... (``-`` is stdin), ``--json`` and the gateway flags."""
    parser.add_argument("files", nargs="+", metavar="FILE", help="policy YAML/JSON files; '-' reads stdin")
    parser.add_argument("--json", action="store_true", help="print a JSON list of findings instead of text")
    add_gateway_arguments(parser)


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Validate each file; exit 0 (valid, warnings allowed), 1 (any error) or 2 (a file unreadable)."""
    results: list[tuple[str, Finding]] = []
    code, checked = 0, 0
    read_stdin_once(args.files)
    for name in args.files:
        try:
            raw = read_input(name, io.stdin)
        except UsageError as exc:
            io.err(f"egress validate: {exc}")
            code = EXIT_USAGE
            continue
        checked += 1
        findings = check_input(raw, args)[0].findings
        code = max(code, exit_code_for(findings))
        results += [(display_name(name), finding) for finding in findings]
    _report(results, checked, args.json, io)
    return code


def _report(results: list[tuple[str, Finding]], file_count: int, as_json: bool, io: CommandIO) -> None:
    if as_json:
        io.out(to_json([finding_record(file, finding) for file, finding in results]))
        return
    for file, finding in results:
        io.out(format_finding(file, finding))
    counts = Counter(finding.severity.value for _file, finding in results)
    io.out(
        f"{file_count} file(s) checked: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['info']} info(s)."
    )


COMMAND = Subcommand(
    name="validate",
    help="Check policy files against every offline rule; exit 0 valid, 1 invalid, 2 unreadable.",
    add_arguments=add_arguments,
    run=run,
)
