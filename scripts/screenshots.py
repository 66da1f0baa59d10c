"""Regenerate docs/screenshots/*.png by running the browser journeys with screenshots switched on.

The README's pictures come from the same journeys the test suite runs (tests/browser), so they
show what the tests check. The review journey (review, review-full, clusters, apply-result, audit)
applies to the test control plane, which `make testenv` or `make test` builds once.

Run: .venv/bin/python scripts/screenshots.py [PYTEST ARGS]   (default: all of tests/browser;
e.g. tests/browser/test_review_journey.py to redraw only that journey's pictures)
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
# NB: every picture the journeys draw; one a journey did not reach (it failed, or was not selected) is reported.
PICTURES = [
    "gateways",
    "policy-form",
    "policy-yaml",
    "inline-error",
    "yaml-error",
    "istio-objects",
    "simulate",
    "imported",
    "policy-form-zh",
    "review",
    "review-full",
    "clusters",
    "apply-result",
    "audit",
]


def main(selection: list[str]) -> int:
    """Run the journeys with EGRESS_SCREENSHOTS set; list the pictures they wrote and any they did not."""
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "EGRESS_SCREENSHOTS": str(OUT)}
    started = {picture: _mtime(picture) for picture in PICTURES}
    command = [sys.executable, "-m", "pytest", *(selection or ["tests/browser"]), "-m", "browser", "-q"]
    result = subprocess.run([*command, "-p", "no:cacheprovider"], cwd=ROOT, env=env, check=False)
    for picture in PICTURES:
        path = OUT / f"{picture}.png"
        fresh = "" if _mtime(picture) != started[picture] else "  (not redrawn by this run)"
        size = f"{path.stat().st_size / 1024:.0f} KB" if path.exists() else "missing"
        print(f"{path.relative_to(ROOT)}  {size}{fresh}")
    return result.returncode


def _mtime(picture: str) -> float:
    path = OUT / f"{picture}.png"
    return path.stat().st_mtime if path.exists() else 0.0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
