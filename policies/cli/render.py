"""``egress render FILE --target asm|istio``: the policy as Kubernetes YAML.

``RENDERERS`` maps a target to a function of (policy, gateway, settings) returning YAML text.
The Istio expansion (``policies.cli.render_istio``) is registered there and adds its own
settings flags; a policy it cannot expand is reported like a finding (exit 1).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from policies.cli.base import (
    EXIT_OK,
    CommandIO,
    Subcommand,
    UsageError,
    accepted_policy,
    add_file_argument,
    check_input,
    expansion_reported,
    read_input,
)
from policies.cli.render_istio import add_settings_arguments, istio_settings, render_istio
from policies.core.document import dump_policy
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
    add_file_argument(parser)
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default="asm",
        help="asm: the canonical CR; istio: the plain Istio resources it expands to",
    )
    add_settings_arguments(parser)


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Print the rendering of a valid policy; findings go to stderr (errors: exit 1, nothing printed)."""
    renderer = RENDERERS.get(args.target)
    if renderer is None:
        raise UsageError(
            f"--target {args.target}: the Istio expansion is not available yet; use --target asm "
            "for the canonical ASMEgressTrafficPolicy."
        )
    parsed, gateway = check_input(read_input(args.file, io.stdin), args)
    policy = accepted_policy(args.file, parsed.policy, parsed.findings, io)
    with expansion_reported(args.file, io):
        io.out(renderer(policy, gateway, istio_settings(args)))
    return EXIT_OK


COMMAND = Subcommand(
    name="render",
    help="Print a valid policy as Kubernetes YAML (--target asm: canonical CR; istio: expanded resources).",
    add_arguments=add_arguments,
    run=run,
)
