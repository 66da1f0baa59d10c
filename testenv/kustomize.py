"""kustomize, built once from the Go module proxy at a pinned version, for the tests of deploy/.

``kubectl apply -k deploy/`` sends what ``kustomize build deploy/`` prints, so the tests apply that
output rather than the files as they lie. The binary is built with ``go install`` (the module and
its dependencies checked against the Go checksum database) into the testenv cache, like the
control plane's binaries: about 2 minutes the first time, then reused.

    python -m testenv.kustomize    # build once if missing, print the path
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from testenv.istio_crds import testenv_cache

KUSTOMIZE_MODULE = "sigs.k8s.io/kustomize/kustomize/v5"
KUSTOMIZE_VERSION = "v5.8.1"
BUILD_TIMEOUT = 900.0

__all__ = ["KUSTOMIZE_VERSION", "KustomizeError", "kustomize_binary", "kustomize_build"]


class KustomizeError(RuntimeError):
    """kustomize could not be built, or ``kustomize build`` failed."""


def kustomize_binary() -> Path:
    """``<testenv cache>/kustomize/<version>/kustomize``, built with ``go install`` when missing."""
    binary = testenv_cache() / "kustomize" / KUSTOMIZE_VERSION / "kustomize"
    if not binary.is_file():
        _install(binary.parent)
    return binary


def kustomize_build(directory: Path) -> str:
    """What ``kustomize build directory`` prints (multi-document YAML)."""
    result = subprocess.run(
        [str(kustomize_binary()), "build", str(directory)], capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise KustomizeError(f"kustomize build {directory} failed: {result.stderr.strip()}")
    return result.stdout


def _install(bin_dir: Path) -> None:
    go = shutil.which("go") or shutil.which("go", path="/usr/local/go/bin")
    if go is None:
        raise KustomizeError("'go' not found on PATH (needed once to build kustomize)")
    bin_dir.mkdir(parents=True, exist_ok=True)
    # NB: outside any go.mod and go.work, so that only the pinned version decides what is built.
    env = {**os.environ, "GOWORK": "off", "GO111MODULE": "on", "GOBIN": str(bin_dir), "CGO_ENABLED": "0"}
    with tempfile.TemporaryDirectory() as outside:
        try:
            result = subprocess.run(
                [go, "install", f"{KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION}"],
                cwd=outside,
                env=env,
                capture_output=True,
                text=True,
                timeout=BUILD_TIMEOUT,
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise KustomizeError(f"go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION} failed: {error}") from error
    if result.returncode != 0:
        raise KustomizeError(f"go install {KUSTOMIZE_MODULE}@{KUSTOMIZE_VERSION} failed: {result.stderr.strip()}")


if __name__ == "__main__":
    try:
        print(kustomize_binary())
    except KustomizeError as error:
        sys.exit(f"kustomize: {error}")
