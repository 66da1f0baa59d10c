"""``egress import FILE``: store a policy file as the working draft of its gateway's policy.

This is the one subcommand that needs the database; it goes through
``policies.services.import_policy_text`` like every other entry point, so the same validation
(against the gateway as stored, authoritative) and the same history apply.
"""

from __future__ import annotations

import argparse

from policies.cli.base import (
    EXIT_OK,
    CommandIO,
    InvalidInputError,
    Subcommand,
    add_file_argument,
    display_name,
    format_finding,
    read_input,
)
from policies.core.document import parse_policy_text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """FILE (``-`` is stdin) and an optional change message."""
    add_file_argument(parser)
    parser.add_argument("--message", default="", help="note recorded with the new revision")


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Import the policy; exit 1 with the reasons when it is invalid or its gateway is unknown."""
    from policies import services  # NB: imported here so that other subcommands never touch the ORM.

    raw = read_input(args.file, io.stdin)
    try:
        policy, created = services.import_policy_text(raw, user=None, message=args.message)
    except services.GatewayUnknown as exc:
        raise InvalidInputError(_unknown_gateway_message(raw)) from exc
    except services.ServiceError as exc:
        for finding in exc.findings:
            io.err(format_finding(display_name(args.file), finding))
        raise InvalidInputError(exc.message) from exc
    policy.refresh_from_db()  # NB: the service updated the draft through another instance.
    verb = "created" if created else "updated"
    io.out(
        f"{verb} policy {policy.namespace}/{policy.name} (gateway {policy.gateway.name}, "
        f"draft version {policy.draft.version}); nothing was applied to the cluster."
    )
    return EXIT_OK


def _unknown_gateway_message(raw: bytes) -> str:
    policy = parse_policy_text(raw).policy
    name = policy.gateway_name if policy else None
    return (
        f"the console has no egress gateway named '{name}' (spec.byEgressGateway.name); create it first "
        "(e.g. in the admin, or 'make run' for the seed gateway), then import again. Nothing was imported."
    )


COMMAND = Subcommand(
    name="import",
    help="Store a policy file as the draft of its gateway's policy (the gateway must exist in the console).",
    add_arguments=add_arguments,
    run=run,
)
