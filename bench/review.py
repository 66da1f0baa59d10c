"""What the review page computes from two revisions: reachability change and semantic summary.

Plain script, prints figures and asserts nothing (issue 11, "Speed and scale": reachability
change of a 100-rule policy ≤ 500 ms):

    .venv/bin/python bench/review.py [--quick]

The old revision is ``bench/simulator.py``'s policy of RULES rules (two to-entries each, sources
from ten team namespaces with selectors and three whole namespaces); the new one edits every
tenth rule (a host added, httpsUpgrade toggled, a source added), drops the last rule and adds
one. Times are CPU seconds of this process (``time.process_time``), the best of several runs,
so that other work on a shared machine does not distort them.
"""

from __future__ import annotations

import copy
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import _timing
from bench.simulator import gateway, policy_data
from policies.core.model import EgressPolicy
from policies.core.policy_changes import policy_changes
from policies.core.reachability_change import reachability_change

RULE_COUNTS = (10, 50, 100)
TARGET_MS = 500


def edited(data: dict[str, Any]) -> dict[str, Any]:
    """The new revision: every tenth rule edited, the last rule dropped, one rule added."""
    new = copy.deepcopy(data)
    rules = new["spec"]["egressRules"]
    for index in range(0, len(rules) - 1, 10):
        http, _stream = rules[index]["to"]
        http["hosts"].append(f"new-{index}.example.com")
        if "httpsUpgrade" in http:
            del http["httpsUpgrade"]
        else:
            http["httpsUpgrade"] = {"enabled": True, "port": 443}
        rules[index]["from"].append({"namespace": f"team-{index % 10}", "workloadSelector": {"app": "reviewer"}})
    added = copy.deepcopy(rules.pop())
    for entry in added["to"]:
        entry["name"] = f"added-{entry['name']}"
        entry["hosts"] = [f"added-{host}" for host in entry["hosts"]]
        entry["byEgressGateway"] = {"port": 80} if entry["port"]["protocol"] == "HTTP" else {"port": 10000 + len(rules)}
    rules.append(added)
    return new


def cpu_ms(action: Any, repeats: int) -> tuple[float, Any]:
    """Best CPU time of ``repeats`` runs, in ms, and the last result."""
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.process_time()
        result = action()
        best = min(best, time.process_time() - started)
    return best * 1000, result


def main() -> None:
    quick = _timing.quick_flag(__doc__ or "")
    repeats = 1 if quick else 5
    _timing.print_environment()
    print(f"{'rules':>5} {'sources':>7} {'urls':>5} {'pairs':>6} {'changed':>7}  {'reachability':>12}  "
          f"{'per pair':>8}  {'summary':>7} {'sentences':>9}")  # fmt: skip
    worst = 0.0
    for rules in RULE_COUNTS:
        old_data = policy_data(rules)
        old, new = EgressPolicy.model_validate(old_data), EgressPolicy.model_validate(edited(old_data))
        description = gateway(rules + 1)  # NB: declares the added rule's stream gateway port too
        reach_ms, change = cpu_ms(lambda: reachability_change(old, new, description), repeats)  # noqa: B023
        summary_ms, sentences = cpu_ms(lambda: policy_changes(old, new), repeats)  # noqa: B023
        worst = max(worst, reach_ms) if rules == max(RULE_COUNTS) else worst
        counts = change.counts()
        kinds = f"allowed {counts['allowed']}, blocked {counts['blocked']}, changed {counts['changed']}"
        print(f"{rules:>5} {len(change.sources):>7} {len(change.urls):>5} {change.probed:>6} {len(change.deltas):>7}  "
              f"{reach_ms:>9.0f} ms  {reach_ms * 1000 / change.probed:>5.1f} µs  {summary_ms:>4.1f} ms "
              f"{len(sentences):>9}   ({kinds})")  # fmt: skip
    largest = max(RULE_COUNTS)
    print(f"target: reachability change of a {largest}-rule policy <= {TARGET_MS} ms (measured {worst:.0f} ms)")


if __name__ == "__main__":
    main()
