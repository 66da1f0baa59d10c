"""What the size benchmarks (``bench/core.py``, ``bench/expansion.py``) share.

Both grow one generated policy from 10 to 10,000 to-entries, time our pipeline against a plain
PyYAML floor as the best of several CPU-time runs, and print the same first and last lines. The
entries themselves stay in each script: they differ on purpose (their figures are compared with
earlier runs of the same script, so the inputs must not move).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from collections.abc import Callable
from typing import Any

import yaml

from policies.core.gateway import GatewayDescription, GatewayPort

SIZES = (10, 100, 1_000, 10_000)
ENTRIES_PER_RULE = 10
EntryFactory = Callable[[int], dict[str, Any]]


def quick_flag(description: str) -> bool:
    """Parse the command line (``--quick``: fewer repetitions, for a smoke run)."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for a smoke run)")
    return bool(parser.parse_args().quick)


def policy_document(entries: int, to_entry: EntryFactory) -> dict[str, Any]:
    """A valid policy with ``entries`` to-entries made by ``to_entry``, in rules of ten (one client each)."""
    rules = [
        {
            "from": [{"namespace": f"team-{r % 7}", "workloadSelector": {"app": f"client-{r}"}}],
            "to": [to_entry(i) for i in range(r * ENTRIES_PER_RULE, min(entries, (r + 1) * ENTRIES_PER_RULE))],
        }
        for r in range((entries + ENTRIES_PER_RULE - 1) // ENTRIES_PER_RULE)
    ]
    return {
        "apiVersion": "istio.alibabacloud.com/v1",
        "kind": "ASMEgressTrafficPolicy",
        "metadata": {"name": "egress-by-egressgateway", "namespace": "istio-egress"},
        "spec": {"byEgressGateway": {"name": "egressgateway"}, "egressRules": rules},
    }


def gateway_for(entries: int, first_stream_port: int) -> GatewayDescription:
    """The gateway declaring port 80 and one exclusive port per HTTPS/TCP entry (every ``i % 4 >= 2``)."""
    stream = [
        GatewayPort(name=f"tls-{first_stream_port + i}", number=first_stream_port + i, protocol="TLS")
        for i in range(entries)
        if i % 4 >= 2
    ]
    return GatewayDescription(
        name="egressgateway", ports=(GatewayPort(name="http", number=80, protocol="HTTP"), *stream)
    )


def best(measure: Callable[[], dict[str, float]], repeats: int) -> dict[str, float]:
    """The run with the smallest total of ``repeats`` runs."""
    return min((measure() for _ in range(repeats)), key=lambda run: run["total"])


def growth(now: float, before: float | None, width: int) -> str:
    """``now / before`` formatted, or a dash for the first size."""
    return f"{now / before:{width}.2f}" if before else f"{'-':>{width}}"


def print_environment() -> None:
    """The first line: Python and PyYAML versions, and whether libyaml is there."""
    print(f"python {sys.version.split()[0]}, PyYAML {yaml.__version__} (libyaml: {yaml.__with_libyaml__})")


def print_targets(ratios: list[float]) -> None:
    """The last line: the ratios to the floor against the targets."""
    print(f"targets: ratio <= 3.00 (worst {max(ratios):.2f}, median {statistics.median(ratios):.2f}); x time/10x <= 11")
