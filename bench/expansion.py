"""Benchmark of the Istio expansion: expand one policy and dump its objects as YAML.

Prints a table (asserts nothing). For policies of 10, 100, 1,000 and 10,000 to-entries (every
entry its own host group, a mix of HTTP, HTTP with httpsUpgrade, HTTPS and TCP, in rules of ten
with workload selectors, so catch-all routes and deny subsets are generated too) it measures
``expand_policy`` + ``dump_yaml_all`` as ``egress render --target istio`` runs them (the cyclic GC
paused, see ``policies/core/gcpause.py``), and the floor:
plain ``yaml.safe_dump_all`` of the same objects with PyYAML's pure-Python dumper. Targets: at
most 3x the floor, and 10x the entries in at most 11x the time (linear).

Times are CPU seconds of this process (``time.process_time``), the best of several runs.

Run: ``.venv/bin/python bench/expansion.py [--quick]``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _timing
from policies.core.expansion import expand_policy
from policies.core.findings import Severity
from policies.core.gateway import GatewayDescription
from policies.core.gcpause import paused_gc
from policies.core.model import EgressPolicy
from policies.core.validation import validate_policy
from policies.core.yamlio import dump_yaml_all

FIRST_STREAM_PORT = 20_000


def to_entry(i: int) -> dict[str, Any]:
    """Entry ``i``: HTTP, HTTP+upgrade, HTTPS or TCP by ``i % 4``, with its own hosts."""
    kind = i % 4
    protocol = ("HTTP", "HTTP", "HTTPS", "TCP")[kind]
    number = (80, 80, 443, 5432)[kind]
    entry: dict[str, Any] = {
        "name": f"svc-{i}",
        "hosts": [f"api-{i}.example.com"] + ([f"www.api-{i}.example.com"] if protocol != "TCP" else []),
        "port": {"name": protocol.lower(), "number": number, "protocol": protocol},
        "byEgressGateway": {"port": 80 if protocol == "HTTP" else FIRST_STREAM_PORT + i},
    }
    if kind == 1:
        entry["httpsUpgrade"] = {"enabled": True, "port": 443}
    return entry


def make_policy(entries: int) -> EgressPolicy:
    """A valid policy with ``entries`` to-entries, in rules of ten."""
    return EgressPolicy.model_validate(_timing.policy_document(entries, to_entry))


def ours(policy: EgressPolicy, gateway: GatewayDescription) -> dict[str, float]:
    """Seconds spent expanding and dumping."""
    t0 = time.process_time()
    objects = expand_policy(policy, gateway)
    t1 = time.process_time()
    with paused_gc():  # NB: as ``egress render --target istio`` dumps
        dump_yaml_all(objects)
    t2 = time.process_time()
    return {"expand": t1 - t0, "dump": t2 - t1, "total": t2 - t0, "objects": len(objects)}


def floor(objects: list[dict[str, Any]]) -> dict[str, float]:
    """Plain PyYAML, pure-Python dumper (the default of safe_dump_all) of the same objects."""
    t0 = time.process_time()
    yaml.safe_dump_all(objects, sort_keys=False)
    return {"total": time.process_time() - t0}


def validation_errors(policy: EgressPolicy, gateway: GatewayDescription) -> int:
    """How many validation errors the generated policy has (0: it is a fair input)."""
    return sum(f.severity is Severity.ERROR for f in validate_policy(policy, gateway))


def main() -> None:
    quick = _timing.quick_flag(__doc__)
    _timing.print_environment()
    print(
        f"{'entries':>8} {'objects':>8} {'errors':>6} {'expand ms':>10} {'dump ms':>9} {'ours ms':>9} "
        f"{'us/entry':>9} {'floor ms':>9} {'ratio':>6} {'x time/10x':>10}"
    )
    previous = None
    ratios = []
    for size in _timing.SIZES:
        policy, gateway = make_policy(size), _timing.gateway_for(size, FIRST_STREAM_PORT)
        repeats = 1 if quick or size >= 10_000 else (3 if size >= 1_000 else 20)
        run = _timing.best(lambda policy=policy, gateway=gateway: ours(policy, gateway), repeats)
        objects = expand_policy(policy, gateway)
        base = _timing.best(lambda objects=objects: floor(objects), max(1, repeats // 3))
        ratio = run["total"] / base["total"]
        ratios.append(ratio)
        print(
            f"{size:>8} {int(run['objects']):>8} {validation_errors(policy, gateway):>6} "
            f"{run['expand'] * 1e3:10.2f} {run['dump'] * 1e3:9.2f} {run['total'] * 1e3:9.2f} "
            f"{run['total'] / size * 1e6:9.1f} {base['total'] * 1e3:9.1f} {ratio:6.2f} "
            f"{_timing.growth(run['total'], previous, 10)}"
        )
        previous = run["total"]
    _timing.print_targets(ratios)


if __name__ == "__main__":
    main()
