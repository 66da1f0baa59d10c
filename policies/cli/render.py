"""``egress render FILE --target asm|istio``: the policy as Kubernetes YAML.

``RENDERERS`` maps a target to a function of (policy, gateway, settings) returning YAML text.
The Istio expansion (``policies.cli.render_istio``) is registered there and adds its own
settings flags; a policy it cannot expand is reported like a finding (exit 1).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from policies.cli.base import (
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    CommandIO,
    Subcommand,
    UsageError,
    add_gateway_arguments,
    check_input,
    display_name,
    format_finding,
    read_input,
)
from policies.cli.render_istio import add_istio_arguments, istio_settings, render_istio
from policies.core.document import dump_policy
from policies.core.expansion import ExpansionError
from policies.core.findings import Severity
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.model import EgressPolicy

Renderer = Callable[[EgressPolicy, GatewayDescription | None, TranslationSettings], str]
TARGETS = ("asm", "istio")


def render_asm(policy: EgressPolicy, gateway: GatewayDescription | None, settings: TranslationSettings) -> str:
    """The canonical ASMEgressTrafficPolicy YAML (seed key order, no nulls, no status)."""
    return dump_policy(policy)


RENDERERS: dict[str, Renderer] = {"asm": render_asm, "istio": render_istio}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE (``-`` is stdin), ``--target`` and the gateway flags."""
    parser.add_argument("file", metavar="FILE", help="policy YAML/JSON file; '-' reads stdin")
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default="asm",
        help="asm: the canonical CR; istio: the plain Istio resources it expands to",
    )
    add_gateway_arguments(parser)
    add_istio_arguments(parser)


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Print the rendering of a valid policy; findings go to stderr (errors: exit 1, nothing printed)."""
    renderer = RENDERERS.get(args.target)
    if renderer is None:
        io.err(
            f"egress render: --target {args.target}: the Istio expansion is not available yet; use --target asm "
            "for the canonical ASMEgressTrafficPolicy."
        )
        return EXIT_USAGE
    try:
        raw = read_input(args.file, io.stdin)
    except UsageError as exc:
        io.err(f"egress render: {exc}")
        return EXIT_USAGE
    parsed, gateway = check_input(raw, args)
    for finding in parsed.findings:
        if finding.severity is not Severity.INFO:
            io.err(format_finding(display_name(args.file), finding))
    if parsed.policy is None or any(f.severity is Severity.ERROR for f in parsed.findings):
        return EXIT_INVALID
    try:
        io.out(renderer(parsed.policy, gateway, istio_settings(args)))
    except ExpansionError as exc:
        io.err(format_finding(display_name(args.file), exc.as_finding()))
        return EXIT_INVALID
    return EXIT_OK


COMMAND = Subcommand(
    name="render",
    help="Print a valid policy as Kubernetes YAML (--target asm: canonical CR; istio: expanded resources).",
    add_arguments=add_arguments,
    run=run,
)
