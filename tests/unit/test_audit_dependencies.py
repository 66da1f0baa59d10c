"""scripts/audit_dependencies.py (issue 12, item 7): fail on a vulnerability, never on a network error."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from scripts.audit_dependencies import verdict

REPO = Path(__file__).resolve().parents[2]
CLEAN = json.dumps({"dependencies": [{"name": "django", "version": "5.2.19", "vulns": []}]})
VULNERABLE = json.dumps(
    {
        "dependencies": [
            {"name": "django", "version": "5.2.19", "vulns": []},
            {"name": "pyyaml", "version": "5.3", "vulns": [{"id": "PYSEC-2021-142", "fix_versions": ["5.4"]}]},
        ]
    }
)


def test_no_known_vulnerability_passes() -> None:
    assert verdict(0, CLEAN, "") == (0, "pip-audit: no known vulnerabilities in 1 packages")


def test_a_known_vulnerability_fails_naming_the_package_and_the_fix() -> None:
    assert verdict(1, VULNERABLE, "") == (
        1,
        "pip-audit: known vulnerabilities:\n  pyyaml 5.3: PYSEC-2021-142 (fixed in 5.4)",
    )


def test_an_unreachable_service_is_skipped_with_a_message() -> None:
    code, message = verdict(1, None, "Traceback ...\nrequests.exceptions.ConnectionError: Max retries exceeded\n")
    assert code == 0
    assert message.startswith("pip-audit skipped: the vulnerability service was not reachable (requests.exceptions")


def test_any_other_failure_without_a_report_fails() -> None:
    assert verdict(2, None, "usage: pip-audit [-h]\npip-audit: error: unrecognized arguments: --bogus\n") == (
        1,
        "pip-audit failed (exit 2) without a report: pip-audit: error: unrecognized arguments: --bogus",
    )


def test_the_script_skips_when_the_network_refuses() -> None:
    # given every HTTPS request sent to a closed port on this machine (no traffic leaves it)
    env = {**os.environ, "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9", "NO_PROXY": ""}
    env.pop("https_proxy", None)
    # when the audit runs / then it says it skipped and exits 0
    done = subprocess.run(
        [sys.executable, "scripts/audit_dependencies.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("pip-audit skipped: the vulnerability service was not reachable")
