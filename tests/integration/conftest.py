"""Integration-test plumbing: make ``testenv`` importable and register the marker.

The real control plane fixture lives in the test modules (module scope) so that each module
pays for its own start-up; see testenv/README.md.
"""

import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs the real kube-apiserver + etcd from testenv/")
