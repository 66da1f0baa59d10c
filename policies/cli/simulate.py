"""``egress simulate [FILE ...] --source NS[:k=v,...] --url URL``: what one request would get.

FILEs are multi-document YAML holding ASMEgressTrafficPolicy objects (validated, then expanded
to Istio objects) and Istio objects as they are (e.g. the seed's AuthorizationPolicy). The
simulator reads only the resulting Istio objects (spec §5). No FILE means a mesh without any
policy. ``--json`` prints exactly the API's answer: status, upstream, body, hops, reason.

Exit codes: 0 when the simulation ran (whatever status the request gets), 1 when a policy or
Istio object is invalid (findings on stderr), 2 for usage errors and unreadable files.
``mesh_from_files`` is shared with ``egress matrix``.
"""

from __future__ import annotations

import argparse
from typing import Any

from policies.cli.base import (
    EXIT_OK,
    CommandIO,
    InvalidInputError,
    Subcommand,
    UsageError,
    accepted_policy,
    display_name,
    expansion_reported,
    format_finding,
    read_input,
    read_stdin_once,
    to_json,
)
from policies.cli.render_istio import add_settings_arguments, istio_settings
from policies.core.document import load_error_finding
from policies.core.expansion import expand_policy
from policies.core.gateway import GatewayDescription, TranslationSettings
from policies.core.model import KIND
from policies.core.simulator import MESH_MODES, Mesh, Request, SimulationInputError, SimulationResult, build_mesh
from policies.core.simulator.lint import istio_object_findings
from policies.core.simulator.request import parse_method, parse_source, parse_url
from policies.core.validation import DEFAULT_GATEWAY_NAME, check_policy_data
from policies.core.yamlio import LoadedDocument, YamlLoadError, load_all


def add_mesh_arguments(parser: argparse.ArgumentParser) -> None:
    """FILEs, ``--method``, ``--mesh-mode`` and the render settings flags (shared with matrix)."""
    parser.add_argument("files", nargs="*", metavar="FILE", help="YAML with policies and Istio objects; '-' is stdin")
    parser.add_argument("--method", default="GET", help="HTTP method (default: GET)")
    parser.add_argument("--mesh-mode", choices=MESH_MODES, default="REGISTRY_ONLY", help="outbound traffic policy")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_settings_arguments(parser)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The request (``--source``, ``--url``) plus the shared mesh flags."""
    parser.add_argument("--source", required=True, metavar="NS[:KEY=VALUE,...]", help="client namespace and labels")
    parser.add_argument("--url", required=True, help="request URL, http:// or https://")
    add_mesh_arguments(parser)


def mesh_from_files(args: argparse.Namespace, io: CommandIO) -> Mesh:
    """Read every FILE, expand its policies and index all objects for the simulator.

    Args:
        args: Parsed flags (files, mesh mode, gateway and settings flags).
        io: Where findings are written.

    Raises:
        UsageError: a file cannot be read, or policies name different gateways.
        InvalidInputError: a policy, YAML document or Istio object is invalid (reported on stderr).
    """
    settings = istio_settings(args)
    read_stdin_once(args.files)
    documents = [(name, document) for name in args.files for document in _documents(name, io)]
    policies = [(name, doc) for name, doc in documents if _is_policy(doc.data)]
    gateway_name = _gateway_name(args, [doc.data for _name, doc in policies])
    objects: list[dict[str, Any]] = []
    for name, document in documents:
        if _is_policy(document.data):
            objects.extend(_expanded(name, document, _validation_gateway(args, gateway_name), settings, io))
        elif document.data is not None:
            for finding in istio_object_findings(document.data):
                io.err(format_finding(display_name(name), finding.with_line(document.line_of(finding.path))))
            objects.append(document.data)
    mesh_gateway = GatewayDescription(name=gateway_name, ports=args.gateway_ports or ())
    try:
        return build_mesh(objects, mesh_mode=args.mesh_mode, gateway=mesh_gateway, settings=settings)
    except SimulationInputError as exc:
        raise InvalidInputError(str(exc)) from exc


def _documents(name: str, io: CommandIO) -> list[LoadedDocument]:
    raw = read_input(name, io.stdin)
    try:
        return load_all(raw)
    except YamlLoadError as exc:
        io.err(format_finding(display_name(name), load_error_finding(exc)))
        raise InvalidInputError from exc


def _is_policy(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") == KIND


def _gateway_name(args: argparse.Namespace, policies: list[Any]) -> str:
    """The one gateway the simulation models: ``--gateway-name``, else the policies' (which must agree)."""
    names = {_named_gateway(policy) for policy in policies} - {None}
    if args.gateway_name:
        return str(args.gateway_name)
    if len(names) > 1:
        raise UsageError(f"the policies name different gateways ({', '.join(sorted(map(str, names)))}); "
                         "simulate one gateway at a time or pass --gateway-name")  # fmt: skip
    return str(next(iter(names), DEFAULT_GATEWAY_NAME))


def _named_gateway(data: dict[str, Any]) -> str | None:
    spec = data.get("spec")
    ref = spec.get("byEgressGateway") if isinstance(spec, dict) else None
    name = ref.get("name") if isinstance(ref, dict) else None
    return name if isinstance(name, str) else None


def _validation_gateway(args: argparse.Namespace, gateway_name: str) -> GatewayDescription | None:
    return GatewayDescription(name=gateway_name, ports=args.gateway_ports) if args.gateway_ports else None


def _expanded(
    name: str,
    document: LoadedDocument,
    gateway: GatewayDescription | None,
    settings: TranslationSettings,
    io: CommandIO,
) -> list[dict[str, Any]]:
    """A valid policy's Istio objects; findings (with lines) on stderr, and InvalidInputError on errors."""
    parsed = check_policy_data(document.data, gateway, settings)
    findings = [f.with_line(document.line_of(f.path)) for f in parsed.findings]
    policy = accepted_policy(name, parsed.policy, findings, io)
    with expansion_reported(name, io):
        return expand_policy(policy, gateway, settings)


def request_from_args(args: argparse.Namespace) -> Request:
    """The ``Request`` the flags describe; raises ``UsageError`` when a flag cannot be read."""
    try:
        namespace, labels = parse_source(args.source)
        parse_url(args.url)
        method = parse_method(args.method)
    except SimulationInputError as exc:
        raise UsageError(exc.message) from exc
    return Request(namespace, labels, args.url, method)


def format_result(request: Request, result: SimulationResult) -> str:
    """The readable summary: status line, upstream, body, numbered hops, reason."""
    labels = ",".join(f"{k}={v}" for k, v in request.source_labels.items())
    source = f"{request.source_namespace}:{labels}" if labels else request.source_namespace
    lines = [f"{result.status}  {request.method} {request.url}  from {source}"]
    lines.append(f"upstream: {result.upstream or '(none: the request never leaves the mesh)'}")
    if result.body is not None:
        lines.append(f"body: {result.body}")
    lines.append("path:")
    lines.extend(f"  {i}. {hop}" for i, hop in enumerate(result.hops, 1))
    lines.append(f"reason: {result.reason}")
    return "\n".join(lines)


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Simulate the request and print the result (exit 0 whatever status it gets)."""
    request = request_from_args(args)
    result = mesh_from_files(args, io).simulate(request)
    io.out(to_json(result.as_dict()) if args.json else format_result(request, result))
    return EXIT_OK


COMMAND = Subcommand(
    name="simulate",
    help="Simulate one request from a workload through the policies' Istio objects (status, upstream, hops).",
    add_arguments=add_arguments,
    run=run,
)
