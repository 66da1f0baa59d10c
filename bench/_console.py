"""Django for the console benchmarks: the project on the path, a throwaway SQLite database, set up.

Import it before anything from Django or the project: ``import _console  # noqa: F401``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ["DATABASE_URL"] = f"sqlite:///{Path(tempfile.mkdtemp(prefix='egress-bench-')) / 'bench.sqlite3'}"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
django.setup()
