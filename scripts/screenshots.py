"""Regenerate docs/screenshots/*.png by running the browser journeys with screenshots switched on.

The README's pictures come from the same journeys the test suite runs (tests/browser), so they
show what the tests check. Run: .venv/bin/python scripts/screenshots.py
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"


def main() -> int:
    """Run the journeys with EGRESS_SCREENSHOTS set; list the pictures they wrote."""
    OUT.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "EGRESS_SCREENSHOTS": str(OUT)}
    command = [sys.executable, "-m", "pytest", "tests/browser", "-m", "browser", "-q", "-p", "no:cacheprovider"]
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    for picture in sorted(OUT.glob("*.png")):
        print(f"{picture.relative_to(ROOT)}  {picture.stat().st_size / 1024:.0f} KB")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
