"""pip-audit over the project's installed (pinned) dependencies, for `make test`'s static checks.

Exits 1 when a dependency has a known vulnerability, listing each with its fix versions. When the
vulnerability service cannot be reached (no network, a proxy refusing), the audit is skipped with
a message saying so and the exit code is 0: a network error is never a test failure.

    .venv/bin/python scripts/audit_dependencies.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

BIN = Path(sys.executable).parent
# NB: what requests and urllib3 raise when the service cannot be reached; anything else is a failure
NETWORK_ERRORS = ("ConnectionError", "ProxyError", "ConnectTimeout", "ReadTimeout", "Max retries exceeded", "SSLError")
COMMAND = ["--local", "--skip-editable", "--progress-spinner", "off", "--timeout", "15", "-f", "json", "-o"]


def verdict(returncode: int, report: str | None, errors: str) -> tuple[int, str]:
    """(exit code, message) from pip-audit's exit code, its JSON report (None if it wrote none) and stderr."""
    if report is None:
        last = next((line for line in reversed(errors.strip().splitlines()) if line.strip()), "no output")
        if any(marker in errors for marker in NETWORK_ERRORS):
            return 0, f"pip-audit skipped: the vulnerability service was not reachable ({last[:300]})"
        return 1, f"pip-audit failed (exit {returncode}) without a report: {last[:300]}"
    found = [dep for dep in json.loads(report)["dependencies"] if dep.get("vulns")]
    if not found:
        return 0, f"pip-audit: no known vulnerabilities in {len(json.loads(report)['dependencies'])} packages"
    lines = [
        f"  {dep['name']} {dep['version']}: {vuln['id']} (fixed in {', '.join(vuln['fix_versions']) or 'no release'})"
        for dep in found
        for vuln in dep["vulns"]
    ]
    return 1, "pip-audit: known vulnerabilities:\n" + "\n".join(lines)


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder, "audit.json")
        done = subprocess.run([BIN / "pip-audit", *COMMAND, str(output)], capture_output=True, text=True, timeout=600)
        report = output.read_text() if output.exists() else None
    code, message = verdict(done.returncode, report, done.stderr + done.stdout)
    print(message, file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
