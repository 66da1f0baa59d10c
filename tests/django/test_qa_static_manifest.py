"""QA regression (issue 10, item 7): DEBUG=0 without ``collectstatic`` made every HTML page a 500.

The pages link static files through collectstatic's manifest when DEBUG is off. The server now
refuses to start without it (or with a stale one), naming the command that fixes it, and the
documented production path (``scripts/serve.sh``) collects them before it serves.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.fixtures.server import REPO, console_env, serve

START_WSGI = "import console.wsgi"


def start_wsgi(static_root: Path) -> subprocess.CompletedProcess[str]:
    """Import the WSGI application as gunicorn does, with DEBUG off."""
    env = console_env(static_root.parent, "sqlite:///:memory:")
    env["STATIC_ROOT"] = str(static_root)
    return subprocess.run(
        [sys.executable, "-c", START_WSGI], cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False
    )


def test_without_collected_static_files_the_server_refuses_to_start(tmp_path: Path) -> None:
    # when the WSGI application starts with DEBUG off and nothing collected
    result = start_wsgi(tmp_path / "static")
    # then it stops at once, saying what to run
    assert result.returncode == 1
    assert (
        f"ImproperlyConfigured: DEBUG is off but {tmp_path}/static/staticfiles.json is missing: "
        "run `python manage.py collectstatic --noinput` before starting the server"
    ) in result.stderr


def test_with_a_stale_manifest_the_server_refuses_to_start(tmp_path: Path) -> None:
    # given a manifest written before the console's files existed
    (tmp_path / "static").mkdir()
    manifest = {"paths": {"admin/css/base.css": "admin/css/base.0123456789ab.css"}, "version": "1.1", "hash": "x"}
    (tmp_path / "static" / "staticfiles.json").write_text(json.dumps(manifest))
    # when the WSGI application starts / then it names the problem
    result = start_wsgi(tmp_path / "static")
    assert result.returncode == 1
    assert re.search(r"staticfiles\.json is out of date \(\d+ files not collected, e\.g\. ", result.stderr)


def test_the_production_path_serves_pages_and_their_static_files(tmp_path: Path) -> None:
    # given the console started the documented way (scripts/serve.sh, DEBUG=0)
    env = console_env(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite3'}")
    with serve(env, tmp_path) as served:
        # when the sign-in page is opened
        page = requests.get(f"{served.url}/accounts/login/", timeout=30)
        # then it and the hashed stylesheet it links are served
        assert page.status_code == 200
        [stylesheet] = re.findall(r'href="(/static/policies/css/console\.[0-9a-f]{12}\.css)"', page.text)
        assert requests.get(f"{served.url}{stylesheet}", timeout=30).status_code == 200
