"""``egress discover LOG... [--pods PODS.json] [--namespace NS --labels k=v] [--json | --propose FILE]``.

Reads Envoy access logs as Istio's sidecars write them (default TEXT or JSON encoding, with or
without ``kubectl logs --prefix`` prefixes) and prints the external flows they show: who called
which host, how often, with which outcomes. ``--propose FILE`` writes a policy allowing them
(``-``: stdout), extending the policy file ``--base`` names when given. Every refused line is
reported on stderr as ``LOG:LINE: CODE reason`` (the first ``--max-errors``, then a count); logs
stream, so a 1 GB file is never held in memory.

Exit codes: 0 when the logs were read (refused lines are reported, not fatal); 1 with
``--strict`` when any line was refused, or with ``--propose`` when no flow can be allowed; 2 for
usage errors, unreadable files, a bad pod list, or logs in which not one line is an access-log
line.
``read_flows`` (the shared ingestion) is also used by ``egress replay``.
"""

from __future__ import annotations

import argparse
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

from policies.cli.base import (
    EXIT_INVALID,
    EXIT_OK,
    STDIN,
    CommandIO,
    InvalidInputError,
    Subcommand,
    UsageError,
    check_input,
    display_name,
    format_finding,
    read_input,
    read_stdin_once,
    to_json,
)
from policies.cli.render_istio import add_settings_arguments, istio_settings
from policies.core.discovery.flows import Flow, FlowAggregator, IngestSummary
from policies.core.discovery.propose import ProposalError, propose_policy
from policies.core.discovery.sources import PodIndex, PodListError, SourceResolver, Workload
from policies.core.document import dump_policy
from policies.core.findings import Severity
from policies.core.gateway import GatewayDescription, seed_gateway
from policies.core.model import EgressPolicy
from policies.core.simulator import SimulationInputError, parse_source
from policies.core.validation import DEFAULT_GATEWAY_NAME

DEFAULT_MAX_ERRORS = 100
MAX_POD_LIST_BYTES = 512 * 1024 * 1024


def add_log_arguments(parser: argparse.ArgumentParser) -> None:
    """LOG..., ``--pods``, ``--namespace``, ``--labels``, ``--max-errors``, ``--strict`` (shared with replay)."""
    parser.add_argument("logs", nargs="+", metavar="LOG", help="access-log file; '-' reads stdin")
    parser.add_argument("--pods", metavar="PODS.json", help="pod list (kubectl get pods -A -o json) for prefixed lines")
    parser.add_argument("--namespace", metavar="NS", help="source namespace of lines without a pod prefix")
    parser.add_argument("--labels", metavar="K=V,...", default="", help="source labels that go with --namespace")
    parser.add_argument(
        "--max-errors",
        type=int,
        default=DEFAULT_MAX_ERRORS,
        metavar="N",
        help=f"refused lines printed on stderr (default {DEFAULT_MAX_ERRORS}; 0: all); all are counted",
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when any line is refused")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The log flags, the output choice and the gateway flags of ``--propose``."""
    add_log_arguments(parser)
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print flows and summary as JSON")
    output.add_argument("--propose", metavar="FILE", help="write a policy allowing the flows to FILE ('-': stdout)")
    parser.add_argument("--base", metavar="POLICY", help="with --propose: extend this policy file instead of a new one")
    parser.add_argument(
        "--no-https-upgrade",
        dest="https_upgrade",
        action="store_false",
        help="with --propose: never suggest httpsUpgrade (plain HTTP leaves the gateway as it came)",
    )
    add_settings_arguments(parser)


def resolver_from_args(args: argparse.Namespace) -> SourceResolver:
    """The pod → workload map the flags describe.

    Raises:
        UsageError: the pod list cannot be read, or ``--namespace``/``--labels`` are malformed.
    """
    fallback = None
    if args.labels and not args.namespace:
        raise UsageError("--labels needs --namespace")
    if args.namespace:
        try:
            namespace, labels = parse_source(f"{args.namespace}:{args.labels}")
        except SimulationInputError as exc:
            raise UsageError(exc.message) from exc
        fallback = Workload.of(namespace, labels)
    return SourceResolver(_pod_index(args.pods) if args.pods else None, fallback)


def _pod_index(path: str) -> PodIndex:
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(MAX_POD_LIST_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"cannot read '{path}': {exc.strerror or exc}") from exc
    if len(raw) > MAX_POD_LIST_BYTES:
        raise UsageError(f"'{path}' is larger than {MAX_POD_LIST_BYTES // (1024 * 1024)} MiB; not a pod list?")
    try:
        return PodIndex.from_document(json.loads(raw))
    except (ValueError, RecursionError) as exc:
        code = exc.code if isinstance(exc, PodListError) else "EGRESS-LOG20"
        raise UsageError(f"'{path}' is not a pod list ({code}): {exc}") from exc


@contextmanager
def opened_log(name: str, stdin: IO[Any]) -> Iterator[Any]:
    """A binary stream of the log (stdin for ``-``); ``UsageError`` when it cannot be opened."""
    if name == STDIN:
        yield stdin.buffer if hasattr(stdin, "buffer") else (line.encode("utf-8") for line in stdin)
        return
    _refuse_device(name)
    try:
        with Path(name).open("rb") as handle:
            yield handle
    except OSError as exc:  # NB: opening and every read of the caller's block alike.
        raise UsageError(f"cannot read '{name}': {exc.strerror or exc}") from exc


def _refuse_device(name: str) -> None:
    """A character or block device (``/dev/zero``, a disk) is no log and never ends; a FIFO (``<(kubectl logs)``) is."""
    with suppress(OSError):  # NB: a missing file is opening's error to report
        mode = os.stat(name).st_mode
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            raise UsageError(f"'{name}' is a device, not a log file; pipe logs through '-' or a file")


def read_flows(args: argparse.Namespace, io: CommandIO) -> tuple[list[Flow], IngestSummary]:
    """Read every LOG into flows, printing refused lines on stderr as they are met.

    Raises:
        UsageError: a file cannot be read, the flags are wrong, or no line at all is an access log.
    """
    read_stdin_once(args.logs)
    if args.max_errors < 0:
        raise UsageError("--max-errors must be 0 (all) or more")
    aggregator = FlowAggregator(resolver_from_args(args))
    printed = 0
    for name in args.logs:
        with opened_log(name, io.stdin) as stream:
            for refusal in aggregator.feed(stream):
                if not args.max_errors or printed < args.max_errors:
                    io.err(f"{display_name(name)}:{refusal.line}: {refusal.code} {refusal.reason}")
                    printed += 1
    summary = aggregator.summary
    if summary.refused_total > printed:
        io.err(f"... {summary.refused_total - printed} more refused lines (not printed; see the summary)")
    if summary.entries == 0 and summary.refused_total:
        raise UsageError("no line is an access-log line in Istio's default TEXT or JSON format")
    return aggregator.flows(), summary


def format_summary(summary: IngestSummary) -> str:
    """``N lines: E access-log entries (json J, text T), R refused, M and G set aside, F external flows``."""
    formats = ", ".join(f"{name} {count}" for name, count in sorted(summary.formats.items())) or "none"
    refused = ", ".join(f"{code} {count}" for code, count in sorted(summary.refused.items()))
    return (
        f"{summary.lines} lines: {summary.entries} access-log entries ({formats}), "
        f"{summary.refused_total} refused{f' ({refused})' if refused else ''}, "
        f"{summary.mesh_internal} mesh-internal and {summary.gateway_own} gateway-own set aside, "
        f"{summary.flows} external flows"
    )


def format_flow(flow: Flow) -> str:
    """One table row: source → host:port protocol, count, outcomes, clusters, first/last seen."""
    key = flow.key
    outcomes = ",".join(f"{outcome}x{count}" for outcome, count in sorted(flow.outcomes.items()))
    kinds = ",".join(sorted(flow.cluster_kinds))
    return (
        f"{key.source.label}  →  {key.host}:{key.port} {key.protocol}  {flow.count} lines  [{outcomes}]  "
        f"via {kinds}  {flow.first_seen} .. {flow.last_seen}"
    )


def gateway_from_args(args: argparse.Namespace, name: str | None = None) -> GatewayDescription:
    """``--gateway-ports`` (named by ``--gateway-name``), else the seed gateway."""
    gateway_name = args.gateway_name or name or DEFAULT_GATEWAY_NAME
    if args.gateway_ports:
        return GatewayDescription(name=gateway_name, namespace=args.gateway_namespace, ports=args.gateway_ports)
    return seed_gateway(gateway_name).model_copy(update={"namespace": args.gateway_namespace})


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Read the logs; print the flows (or JSON), or write a proposal."""
    flows, summary = read_flows(args, io)
    if args.base and not args.propose:
        raise UsageError("--base needs --propose FILE")
    if args.propose:
        _write_proposal(args, io, flows)
    elif args.json:
        io.out(to_json({"summary": summary.as_dict(), "flows": [flow.as_dict() for flow in flows]}))
    else:
        io.out(format_summary(summary))
        for flow in flows:
            io.out(format_flow(flow))
    return EXIT_INVALID if args.strict and summary.refused_total else EXIT_OK


def _base_policy(args: argparse.Namespace, io: CommandIO) -> EgressPolicy | None:
    """The policy ``--base`` names, or None; its errors on stderr and ``UsageError`` when invalid."""
    if not args.base:
        return None
    parsed, _gateway = check_input(read_input(args.base, io.stdin), args)
    errors = [f for f in parsed.findings if f.severity is Severity.ERROR]
    for finding in errors:
        io.err(format_finding(display_name(args.base), finding))
    if errors or parsed.policy is None:
        raise UsageError(f"{display_name(args.base)} is not a valid policy; nothing was proposed")
    return parsed.policy


def _write_proposal(args: argparse.Namespace, io: CommandIO, flows: list[Flow]) -> None:
    base = _base_policy(args, io)
    gateway = gateway_from_args(args, base.gateway_name if base is not None else None)
    try:
        proposal = propose_policy(
            flows, gateway, base=base, settings=istio_settings(args), https_upgrade=args.https_upgrade
        )
    except ProposalError as exc:
        raise UsageError(f"{exc} ({'; '.join(f.message for f in exc.findings)})") from exc
    for item in proposal.notes:
        io.err(f"note {item.code}: {item.render()}")
    for skipped in proposal.skipped:
        io.err(f"skipped {skipped.why.code}: {skipped.flow.key.source.label}: {skipped.why.render()}")
    if proposal.policy is None:
        raise InvalidInputError("no observed flow can be allowed by a policy; nothing was written")
    text = dump_policy(proposal.policy)
    if args.propose == STDIN:
        io.out(text)
    else:
        try:
            Path(args.propose).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write '{args.propose}': {exc.strerror or exc}") from exc
    io.err(
        f"proposal: {len(proposal.covered)} flows newly allowed, {len(proposal.already_allowed)} already allowed, "
        f"{len(proposal.skipped)} skipped"
    )


COMMAND = Subcommand(
    name="discover",
    help="Read Istio sidecar access logs and list the external flows they show (or propose a policy).",
    add_arguments=add_arguments,
    run=run,
)
