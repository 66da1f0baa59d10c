"""``manage.py egress`` starts without the parts of the project its verb does not use.

Start-up time itself is measured by ``bench/kubectl_vs_egress.py``; these tests pin the reason it
is short: which modules a real ``manage.py egress`` process has imported, and whether it set
Django up, once the verb has run.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from policies.cli import SUBCOMMANDS, load_subcommands
from policies.management.commands.egress import Command
from tests.fixtures.cli import REPO, SEED

HEAVY = ("kubernetes", "rest_framework", "django.db.models", "pydantic", "policies.models")

# NB: runs manage.py as __main__ in a child process, then reports what that process holds.
PROBE = """
import json, runpy, sys
argv, watched = json.loads(sys.argv[1]), json.loads(sys.argv[2])
sys.argv = ["manage.py", "egress", *argv]
try:
    runpy.run_path("manage.py", run_name="__main__")
except SystemExit as exc:
    code = exc.code
from django.apps import apps
heavy = sorted(m for m in watched if m in sys.modules)
print(json.dumps({"code": code, "apps_ready": apps.ready, "heavy": heavy}), file=sys.stderr)
"""


def probe(*argv: str) -> dict[str, object]:
    """Run ``manage.py egress ARGV`` in a fresh process; its exit code, whether Django was set up, heavy modules."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv), json.dumps(HEAVY)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    report: dict[str, object] = json.loads(done.stderr.strip().splitlines()[-1])
    return report


def test_the_help_lists_every_subcommand_with_its_summary_and_imports_none_of_them() -> None:
    # Given / When
    done = subprocess.run(
        [sys.executable, "manage.py", "egress", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60
    )

    # Then
    assert done.returncode == 0
    listed = [line.split(maxsplit=1) for line in done.stdout.splitlines() if line.startswith("    ")]
    assert listed == [[entry.name, entry.summary] for entry in SUBCOMMANDS]
    assert probe("--help") == {"code": 0, "apps_ready": False, "heavy": []}


@pytest.mark.parametrize(
    "argv",
    [
        ["apply", "--help"],  # NB: the cluster client is imported only to connect
        ["validate", str(SEED / "scenario-2.yaml")],
        ["render", str(SEED / "scenario-2.yaml"), "--target", "istio"],
        ["crd"],
    ],
)
def test_offline_verbs_run_without_setting_django_up(argv: list[str]) -> None:
    # When
    report = probe(*argv)

    # Then: the core's pydantic models are there, the ORM, DRF and the cluster client are not
    assert report["code"] in (0, None)
    assert report["apps_ready"] is False
    assert report["heavy"] == ["pydantic"]


def test_apply_of_a_file_sets_django_up_only_when_a_flag_names_a_stored_row() -> None:
    # Given: a kubeconfig that cannot be loaded, so that nothing is sent anywhere
    policy = str(SEED / "scenario-2.yaml")

    # When
    from_file = probe("apply", policy, "--kubeconfig", "/nonexistent/kubeconfig")
    stored = probe("apply", "--policy", "egress-by-egressgateway", "--kubeconfig", "/nonexistent/kubeconfig")
    reviewed = probe("apply", "--review", "1", "--kubeconfig", "/nonexistent/kubeconfig")

    # Then
    assert (from_file["code"], from_file["apps_ready"]) == (1, False)
    assert "policies.models" not in from_file["heavy"]  # type: ignore[operator]
    assert stored["apps_ready"] is True and reviewed["apps_ready"] is True


def test_every_registered_module_exports_the_subcommand_it_is_registered_as() -> None:
    # When
    names = [command.name for command in load_subcommands()]

    # Then
    assert names == [entry.name for entry in SUBCOMMANDS]
    assert [name for name in names if name not in Command.help] == []


@pytest.mark.parametrize("place", ["before", "after"])
def test_djangos_settings_flag_is_taken_before_or_after_the_verb_and_a_wrong_one_is_a_usage_error(place) -> None:
    def egress_with_settings(module: str) -> subprocess.CompletedProcess[str]:
        flag, verb = [f"--settings={module}"], ["validate", str(SEED / "scenario-1.yaml")]
        argv = [*flag, *verb] if place == "before" else [*verb, *flag]
        return subprocess.run(
            [sys.executable, "manage.py", "egress", *argv], cwd=REPO, capture_output=True, text=True, timeout=60
        )

    # When
    taken, wrong = egress_with_settings("console.settings"), egress_with_settings("nowhere.settings")

    # Then
    assert taken.returncode == 0, taken.stderr
    assert wrong.returncode == 2 and "Traceback" not in wrong.stderr
    assert "the settings module 'nowhere.settings' cannot be imported" in wrong.stderr
