"""Helpers shared by the ``egress`` subcommands: input, exit codes, output formats, settings flags.

Exit codes are part of the interface and identical for every subcommand:

- 0: success (a valid policy may still have warnings and infos);
- 1: the input was read but is invalid (validation errors, unreadable YAML, refused import);
- 2: usage error or input that cannot be read at all (missing file, bad flag value).

A subcommand signals the last two by raising ``UsageError`` or ``InvalidInputError``;
``Subcommand.execute`` prints their message as ``egress NAME: message`` and exits accordingly.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from policies.core.document import ParsedPolicy, parse_policy_text
from policies.core.expansion import ExpansionError
from policies.core.findings import Finding, Severity
from policies.core.gateway import GatewayDescription, GatewayPort, GatewayProtocol, TranslationSettings
from policies.core.model import EgressPolicy
from policies.core.validation import DEFAULT_GATEWAY_NAME, check_policy_text
from policies.core.yamlio import MAX_INPUT_BYTES

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2
STDIN = "-"
GATEWAY_PROTOCOLS = ("HTTP", "HTTP2", "GRPC", "HTTPS", "TLS", "TCP")


class UsageError(Exception):
    """The command cannot run as asked (exit 2); the message says why."""


class InvalidInputError(Exception):
    """The input was read but is refused (exit 1); its findings are already on stderr, the message (if any) follows."""


@dataclass
class CommandIO:
    """The streams a subcommand talks to (Django's output wrappers, or any text streams)."""

    stdout: Any
    stderr: Any
    stdin: IO[Any]

    def out(self, text: str) -> None:
        """Write ``text`` to stdout as whole lines."""
        self.stdout.write(text if text.endswith("\n") else f"{text}\n")

    def err(self, text: str) -> None:
        """Write ``text`` to stderr as whole lines."""
        self.stderr.write(text if text.endswith("\n") else f"{text}\n")


@dataclass(frozen=True)
class Subcommand:
    """One ``egress`` subcommand: its name, help, arguments and behaviour (returns the exit code)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, CommandIO], int]

    def execute(self, args: argparse.Namespace, io: CommandIO) -> int:
        """Run; a ``UsageError`` exits 2 and an ``InvalidInputError`` exits 1, their message on stderr."""
        try:
            return self.run(args, io)
        except UsageError as exc:
            io.err(f"egress {self.name}: {exc}")
            return EXIT_USAGE
        except InvalidInputError as exc:
            if str(exc):
                io.err(f"egress {self.name}: {exc}")
            return EXIT_INVALID
        except Exception as exc:  # NB: import, --policy and --cluster read the console's database.
            if not _is_database_error(exc):
                raise
            io.err(
                f"egress {self.name}: the console database is not usable ({exc}); "
                "check DATABASE_URL and run 'python manage.py migrate' (or 'make run') first."
            )
            return EXIT_USAGE


def _is_database_error(exc: Exception) -> bool:
    """True for Django's DatabaseError, without importing the ORM (70 ms) for the verbs that never load it."""
    orm = sys.modules.get("django.db")
    return orm is not None and isinstance(exc, orm.DatabaseError)


def read_input(name: str, stdin: IO[Any]) -> bytes:
    """The bytes of a file, or of stdin for ``-``; at most one byte past the loader's size limit.

    Raises:
        UsageError: the file cannot be opened or read.
    """
    if name == STDIN:
        data = stdin.buffer.read(MAX_INPUT_BYTES + 1) if hasattr(stdin, "buffer") else stdin.read()
        return data.encode("utf-8") if isinstance(data, str) else data
    try:
        with Path(name).open("rb") as handle:
            return handle.read(MAX_INPUT_BYTES + 1)  # NB: the loader reports the size; never slurp a huge file.
    except OSError as exc:
        raise UsageError(f"cannot read '{name}': {exc.strerror or exc}") from exc


def add_file_argument(parser: argparse.ArgumentParser, *, optional: bool = False) -> None:
    """FILE, one policy YAML/JSON file (``-``: stdin); ``optional`` when a flag may name the policy instead."""
    parser.add_argument(
        "file", nargs="?" if optional else None, metavar="FILE", help="policy YAML/JSON file; '-' reads stdin"
    )


def read_stdin_once(names: list[str]) -> None:
    """Refuse ``-`` given more than once: stdin can be read once, so a second ``-`` would read nothing.

    Raises:
        UsageError: ``-`` appears twice or more.
    """
    if (count := names.count(STDIN)) > 1:
        raise UsageError(f"'-' (stdin) is given {count} times; it can be read only once.")


def display_name(name: str) -> str:
    """How a file is named in output: stdin shows as ``<stdin>``."""
    return "<stdin>" if name == STDIN else name


def parse_gateway_ports(value: str) -> tuple[GatewayPort, ...]:
    """``80/HTTP,443/HTTPS`` → gateway ports (an argparse ``type``: errors become usage errors)."""
    ports: list[GatewayPort] = []
    for item in filter(None, (part.strip() for part in value.split(","))):
        number, _, protocol = item.partition("/")
        protocol = protocol.upper()
        if (
            not (number.isascii() and number.isdigit())
            or not 1 <= int(number) <= 65535
            or protocol not in GATEWAY_PROTOCOLS
        ):
            raise argparse.ArgumentTypeError(
                f"'{item}' is not NUMBER/PROTOCOL (1-65535, one of {', '.join(GATEWAY_PROTOCOLS)}), e.g. 80/HTTP"
            )
        if any(port.number == int(number) for port in ports):
            raise argparse.ArgumentTypeError(f"port {int(number)} is listed twice in '{value}'; list each port once")
        port_protocol = cast(GatewayProtocol, protocol)  # NB: checked against GATEWAY_PROTOCOLS just above
        ports.append(GatewayPort(name=f"{protocol.lower()}-{number}", number=int(number), protocol=port_protocol))
    if not ports:
        raise argparse.ArgumentTypeError("list at least one port, e.g. 80/HTTP,443/HTTPS,444/HTTPS")
    return tuple(ports)


def add_gateway_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that describe the gateway and the translation settings offline."""
    parser.add_argument(
        "--gateway-ports",
        type=parse_gateway_ports,
        metavar="PORTS",
        help="the gateway Service ports, e.g. 80/HTTP,443/HTTPS,444/HTTPS; when given, ports the policy uses "
        "but the gateway lacks are errors (default: the seed gateway, and such problems are warnings)",
    )
    parser.add_argument("--gateway-name", help="gateway name for --gateway-ports (default: the policy's)")
    parser.add_argument(
        "--port-default",
        choices=("samePort", "asmAuto"),
        default="samePort",
        help="gateway port of 'byEgressGateway: {}': the entry's own port, or ASM auto-allocation",
    )
    verify = parser.add_mutually_exclusive_group()
    verify.add_argument(
        "--upgrade-ca-credential",
        metavar="SECRET",
        help="httpsUpgrade: the gateway verifies external servers against the CA in this Secret of the "
        "gateway namespace (DestinationRule tls.credentialName; without a CA: warning V20a, istioctl IST0129)",
    )
    verify.add_argument(
        "--upgrade-ca-certificates",
        metavar="PATH",
        help="httpsUpgrade: the gateway verifies external servers against this CA bundle in its pods "
        "(DestinationRule tls.caCertificates)",
    )


def add_gateway_namespace_argument(parser: argparse.ArgumentParser) -> None:
    """``--gateway-namespace``: where the egress gateway and the mesh root live."""
    parser.add_argument(
        "--gateway-namespace",
        default="istio-system",
        metavar="NS",
        help="namespace of the egress gateway and mesh root (default: istio-system)",
    )


def translation_settings(args: argparse.Namespace) -> TranslationSettings:
    """Translation settings from the flags."""
    return TranslationSettings(
        port_default=args.port_default,
        upgrade_ca_credential=args.upgrade_ca_credential,
        upgrade_ca_certificates=args.upgrade_ca_certificates,
    )


def gateway_from_flags(raw: bytes, args: argparse.Namespace) -> GatewayDescription | None:
    """The gateway ``--gateway-ports`` describes (named by ``--gateway-name`` or the policy), if given."""
    if args.gateway_ports is None:
        return None
    return GatewayDescription(name=args.gateway_name or _gateway_name_in(raw), ports=args.gateway_ports)


def _gateway_name_in(raw: bytes) -> str:
    policy = parse_policy_text(raw).policy
    return (policy.gateway_name if policy else None) or DEFAULT_GATEWAY_NAME


def check_input(raw: bytes, args: argparse.Namespace) -> tuple[ParsedPolicy, GatewayDescription | None]:
    """Parse and validate one input against the gateway the flags describe (``None``: the seed's)."""
    gateway = gateway_from_flags(raw, args)
    return check_policy_text(raw, gateway, translation_settings(args)), gateway


def accepted_policy(file: str, policy: EgressPolicy | None, findings: list[Finding], io: CommandIO) -> EgressPolicy:
    """Show an input's warnings and errors on stderr (infos stay quiet); its policy when there is no error.

    Raises:
        InvalidInputError: there is no policy, or an error among the findings.
    """
    shown = [f for f in findings if f.severity is not Severity.INFO]
    for finding in shown:
        io.err(format_finding(display_name(file), finding))
    if policy is None or any(f.severity is Severity.ERROR for f in shown):
        raise InvalidInputError
    return policy


@contextmanager
def expansion_reported(file: str, io: CommandIO) -> Iterator[None]:
    """Report an ``ExpansionError`` of the block like a finding of ``file`` and refuse the input (exit 1)."""
    try:
        yield
    except ExpansionError as exc:
        io.err(format_finding(display_name(file), exc.as_finding()))
        raise InvalidInputError from exc


def finding_record(file: str, finding: Finding) -> dict[str, Any]:
    """The ``--json`` form of a finding."""
    return {
        "file": file,
        "line": finding.line,
        "code": finding.code,
        "severity": finding.severity.value,
        "path": finding.path,
        "message": finding.message,
    }


def format_finding(file: str, finding: Finding) -> str:
    """``FILE:LINE: CODE severity path: message`` (``FILE:`` alone when there is no line)."""
    location = f"{file}:{finding.line}:" if finding.line else f"{file}:"
    return f"{location} {finding.code} {finding.severity.value} {finding.path or '(document)'}: {finding.message}"


def to_json(data: Any) -> str:
    """Pretty JSON, non-ASCII kept readable."""
    return json.dumps(data, indent=2, ensure_ascii=False)


def exit_code_for(findings: list[Finding]) -> int:
    """1 when any finding is an error, else 0."""
    return EXIT_INVALID if any(f.severity is Severity.ERROR for f in findings) else EXIT_OK
