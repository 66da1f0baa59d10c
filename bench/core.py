"""Benchmark of the core's read path: load + validate + canonical dump of one policy.

Prints a table (asserts nothing). For policies of 10, 100, 1,000 and 10,000 to-entries it
measures our pipeline (hardened C-loader read, all offline rules, canonical dump) and the floor,
a plain ``yaml.safe_load`` + ``yaml.safe_dump`` of the same text with PyYAML's default
pure-Python loader and dumper, as issue 2 defines it. Targets: at most 3x the floor, and 10x the
entries in at most 11x the time.

Times are CPU seconds of this process (``time.process_time``), the best of several runs, so that
other work on a shared machine does not distort them.

The 10,000-entry policy is about 2 MiB, over the loader's 1 MiB input limit; the benchmark
lifts that limit (and nothing else) for its run.

Run: ``.venv/bin/python bench/core.py [--quick]``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _timing
from policies.core import yamlio
from policies.core.document import dump_policy
from policies.core.gateway import GatewayDescription
from policies.core.gcpause import paused_gc
from policies.core.validation import check_policy_text

FIRST_STREAM_PORT = 1000


def to_entry(i: int) -> dict[str, Any]:
    """Entry ``i``: HTTP, HTTP with upgrade, HTTPS or TCP in turn, own hosts, a valid gateway port."""
    kind = i % 4
    protocol = ("HTTP", "HTTP", "HTTPS", "TCP")[kind]
    entry: dict[str, Any] = {
        "name": f"target-{i}",
        "hosts": [f"svc{i}.example.com", f"www.svc{i}.example.com"],
        "port": {"name": protocol.lower(), "number": 443 if protocol == "HTTPS" else 80 + kind, "protocol": protocol},
        "byEgressGateway": {"port": 80 if protocol == "HTTP" else FIRST_STREAM_PORT + i},
    }
    if kind == 1:
        entry["httpsUpgrade"] = {"enabled": True, "port": 443}
    return entry


def policy_text(entries: int) -> str:
    """A valid policy with ``entries`` to-entries, in rules of ten, as YAML text."""
    return yaml.dump(_timing.policy_document(entries, to_entry), Dumper=yamlio.SafeDumper, sort_keys=False)


def ours(text: str, gateway: GatewayDescription) -> dict[str, float]:
    """Seconds spent checking (load + validate) and dumping."""
    t0 = time.process_time()
    parsed = check_policy_text(text, gateway)  # the public path: load, model, every rule
    t1 = time.process_time()
    dump_policy(parsed.policy)
    t2 = time.process_time()
    assert parsed.policy is not None and not [f for f in parsed.findings if f.severity == "error"], parsed.findings[:3]
    return {"check": t1 - t0, "dump": t2 - t1, "total": t2 - t0}


def floor(text: str) -> dict[str, float]:
    """Plain PyYAML, pure-Python loader and dumper (the defaults of safe_load/safe_dump)."""
    t0 = time.process_time()
    yaml.safe_dump(yaml.safe_load(text), sort_keys=False)
    return {"total": time.process_time() - t0}


def c_load(text: str) -> dict[str, float]:
    """Reference: libyaml's C loader alone, to show how much of the growth is the parser's own."""
    with paused_gc():  # NB: as in our pipeline, so that only the parser's own growth shows.
        t0 = time.process_time()
        yaml.load(text, Loader=yamlio.SafeLoader)
        return {"total": time.process_time() - t0}


def main() -> None:
    quick = _timing.quick_flag(__doc__)
    yamlio.MAX_INPUT_BYTES = 64 * 1024 * 1024  # NB: only the 10,000-entry policy needs this,
    yamlio.MAX_NODES = 10_000_000  # and this.
    _timing.print_environment()
    print(
        f"{'entries':>8} {'bytes':>10} {'check ms':>9} {'dump ms':>9} {'ours ms':>9} {'us/entry':>9} "
        f"{'floor ms':>9} {'ratio':>6} {'x time/10x':>10} {'c-load ms':>10} {'x c-load/10x':>12}"
    )
    previous: dict[str, float] = {}
    ratios = []
    for size in _timing.SIZES:
        text, gateway = policy_text(size), _timing.gateway_for(size, FIRST_STREAM_PORT)
        repeats = 1 if quick else max(3, 3_000 // size)
        run = _timing.best(lambda text=text, gateway=gateway: ours(text, gateway), repeats)
        # NB: the floor is ~5x slower; one run of it is enough at the large sizes.
        base = _timing.best(lambda text=text: floor(text), 1 if quick or size >= 10_000 else repeats)
        reference = _timing.best(lambda text=text: c_load(text), repeats)
        ratios.append(run["total"] / base["total"])
        print(
            f"{size:>8} {len(text.encode()):>10} {run['check'] * 1e3:9.2f} {run['dump'] * 1e3:9.2f} "
            f"{run['total'] * 1e3:9.2f} {run['total'] / size * 1e6:9.1f} {base['total'] * 1e3:9.1f} "
            f"{ratios[-1]:6.2f} {_timing.growth(run['total'], previous.get('ours'), 10)} "
            f"{reference['total'] * 1e3:10.2f} "
            f"{_timing.growth(reference['total'], previous.get('c'), 12)}"
        )
        previous = {"ours": run["total"], "c": reference["total"]}
    _timing.print_targets(ratios)


if __name__ == "__main__":
    main()
