"""``egress replay LOG... [--pods PODS.json] (--policy NAME | FILE) [--json]``: what would break.

Every external flow in the logs (read as ``egress discover`` reads them) is simulated under the
candidate policy, exactly as ``egress simulate --source NS:LABELS --url URL`` would (same mesh,
same settings flags): flows that reach their destination today but would be stopped are
*broken*; flows stopped today that the candidate lets through are *newly allowed*.
``--policy NAME`` takes a stored policy's working draft (``--revision N``: that revision); a
policy YAML/JSON FILE (a CI job's proposed change) is given after the logs, or as
``--policy-file FILE``.

Exit codes: 0 when nothing observed would be blocked, 1 when any flow would be broken (a CI gate),
2 for usage errors, unreadable logs, a bad pod list, or an invalid candidate policy.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from policies.cli.base import (
    EXIT_INVALID,
    EXIT_OK,
    STDIN,
    CommandIO,
    InvalidInputError,
    Subcommand,
    UsageError,
    to_json,
)
from policies.cli.discover import add_log_arguments, format_summary, read_flows
from policies.cli.render_istio import add_settings_arguments, istio_settings
from policies.cli.simulate import mesh_from_files
from policies.core.discovery.replay import ReplayedFlow, candidate_mesh, replay_on_mesh
from policies.core.document import parse_policy_data
from policies.core.expansion import ExpansionError
from policies.core.gateway import GatewayDescription
from policies.core.model import KIND, EgressPolicy
from policies.core.simulator import MESH_MODES, Mesh

POLICY_SNIFF_BYTES = 64 * 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The log flags, the candidate (``--policy``/``--policy-file``), output and settings flags."""
    add_log_arguments(parser)
    candidate = parser.add_mutually_exclusive_group()
    candidate.add_argument("--policy", metavar="NAME", help="a stored policy (its working draft)")
    candidate.add_argument("--policy-file", metavar="FILE", help="a policy YAML/JSON file")
    parser.add_argument(
        "--revision", type=int, metavar="N", help="with --policy: revision N instead of the working draft"
    )
    parser.add_argument("--mesh-mode", choices=MESH_MODES, default="REGISTRY_ONLY", help="outbound traffic policy")
    parser.add_argument("--all", action="store_true", help="list every flow, not only broken and newly allowed ones")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    add_settings_arguments(parser)


def candidate_mesh_from_args(args: argparse.Namespace, io: CommandIO) -> Mesh:
    """The simulator mesh of the candidate, built as the rest of the console builds it.

    A stored policy (``--policy``) is expanded for its stored gateway, as the console's and the
    API's simulation do; a FILE goes through ``egress simulate``'s own ``mesh_from_files``, so each
    flow gets exactly what ``egress simulate FILE --source ... --url ...`` answers.

    Raises:
        UsageError: no candidate, an unknown stored policy, or a candidate with errors (on stderr).
    """
    if args.revision is not None and not args.policy:
        raise UsageError("--revision needs --policy NAME")
    _take_policy_file_from_logs(args)
    if not (args.policy or args.policy_file):
        raise UsageError("name the candidate: --policy NAME, --policy-file FILE, or a policy FILE after the logs")
    if args.policy:
        policy, gateway = _stored(args.policy, args.revision)
        try:
            return candidate_mesh(policy, gateway, istio_settings(args), mesh_mode=args.mesh_mode)
        except ExpansionError as exc:
            raise UsageError(f"the candidate cannot be expanded: {exc.code}: {exc.message}") from exc
    try:
        return mesh_from_files(argparse.Namespace(**{**vars(args), "files": [args.policy_file]}), io)
    except InvalidInputError as exc:
        raise UsageError(f"{args.policy_file} is not a valid policy; nothing was replayed") from exc


def _take_policy_file_from_logs(args: argparse.Namespace) -> None:
    """``egress replay LOG... FILE``: a last positional holding an ASMEgressTrafficPolicy is the candidate.

    NB: told apart by content, not by name (JSON access logs may end in ``.json`` too); no access-log
    line contains the kind's name.
    """
    if args.policy or args.policy_file or len(args.logs) < 2 or args.logs[-1] == STDIN:
        return
    try:
        with Path(args.logs[-1]).open("rb") as handle:
            head = handle.read(POLICY_SNIFF_BYTES)
    except OSError:
        return  # NB: reading it as a log reports the problem.
    if KIND.encode() in head:
        args.policy_file, args.logs = args.logs[-1], args.logs[:-1]


def _stored(name: str, revision: int | None) -> tuple[EgressPolicy, GatewayDescription]:
    from policies.models import EgressPolicy as StoredPolicy  # NB: only --policy needs the database.

    stored = StoredPolicy.objects.select_related("gateway").filter(name=name).first()
    if stored is None:
        raise UsageError(f"no stored policy named {name!r} (see `egress import`)")
    if revision is None:
        document = getattr(getattr(stored, "draft", None), "document", None)
        missing = f"policy {name!r} has no working draft"
    else:
        found = stored.revisions.filter(number=revision).first()
        document = found.document if found is not None else None
        missing = f"policy {name!r} has no revision {revision}"
    if document is None:
        raise UsageError(missing)
    parsed = parse_policy_data(document)
    if parsed.policy is None:
        raise UsageError(f"policy {name!r}: the stored document is not a policy")
    return parsed.policy, stored.gateway.describe()


def format_replayed(result: ReplayedFlow) -> str:
    """``BROKEN  shop/app=web → https://api.example.com/  observed 200x3 → reset: reason``."""
    flow = result.flow
    observed = ",".join(f"{outcome}x{count}" for outcome, count in sorted(flow.outcomes.items()))
    label = result.verdict.upper().replace("_", " ")
    return f"{label}  {flow.key.source.label} → {result.url}  observed {observed} → {result.status}: {result.reason}"


def run(args: argparse.Namespace, io: CommandIO) -> int:
    """Replay the logs' flows under the candidate; exit 1 when any would be broken."""
    mesh = candidate_mesh_from_args(args, io)
    flows, summary = read_flows(args, io)
    report = replay_on_mesh(flows, mesh)
    if args.json:
        io.out(to_json({"summary": summary.as_dict(), **report.as_dict(changes_only=not args.all)}))
    else:
        io.out(format_summary(summary))
        counts = report.counts()
        io.out(", ".join(f"{count} {verdict.replace('_', ' ')}" for verdict, count in counts.items()))
        for result in report.results:
            if args.all or result.verdict in ("broken", "newly_allowed"):
                io.out(format_replayed(result))
    return EXIT_INVALID if report.broken else EXIT_OK


COMMAND = Subcommand(
    name="replay",
    help="Replay the flows of Istio access logs under a candidate policy; exit 1 when any observed flow would break.",
    add_arguments=add_arguments,
    run=run,
)
