"""The Istio oracle: the harness and istioctl, built once per machine (cached outside the repo)."""

from __future__ import annotations

import pytest

from testenv.oracle import IstioOracle


@pytest.fixture(scope="session")
def oracle() -> IstioOracle:
    """Istio's own config generator + simulator and istioctl (built by testenv/istio/build.sh)."""
    return IstioOracle.build()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/oracle/" in str(item.fspath):
            item.add_marker(pytest.mark.oracle)


_PAIRS = {"compared": 0}


def record_pairs(count: int) -> None:
    """Count policy × request pairs compared with Istio (printed at the end of the run)."""
    _PAIRS["compared"] += count


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _PAIRS["compared"]:
        terminalreporter.write_line(f"istio oracle: {_PAIRS['compared']} generated policy × request pairs compared")
