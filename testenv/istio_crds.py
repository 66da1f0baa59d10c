"""Istio's CRDs for the test control plane and the schema tests, from a pinned Go module.

The ``istio.io/api`` Go module publishes Istio's CRDs with their OpenAPI v3 schemas and CEL rules
at ``kubernetes/customresourcedefinitions.gen.yaml``. The Go toolchain fetches the module at the
pinned version from the module proxy (and checks it against the Go checksum database); the file is
then checked against a pinned sha256 and copied into the testenv cache outside the repository, so a
clone needs nothing beside it and the file is never committed. Stdlib only: ``build.sh`` runs this
file with any ``python3`` before the virtualenv exists.

    python3 testenv/istio_crds.py    # fetch once if missing, print the path
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ISTIO_API_MODULE = "istio.io/api"
# NB: the version testenv/istio/go.mod resolves istio.io/api to (its `replace`); keep them equal.
ISTIO_API_VERSION = "v1.30.8"
CRD_PATH_IN_MODULE = "kubernetes/customresourcedefinitions.gen.yaml"
# NB: byte-identical to Istio 1.30.3's manifests/charts/base/files/crd-all.gen.yaml.
CRD_SHA256 = "dcb43ff6b9af2f629b80b6a82597f5a91db259c757e66cc5353ac007da28351a"
FETCH_TIMEOUT = 600.0

__all__ = ["ISTIO_API_VERSION", "IstioCrdError", "go_module_dir", "install_checked", "istio_crd_file", "testenv_cache"]


class IstioCrdError(RuntimeError):
    """The pinned Istio CRDs could not be fetched or do not have the pinned checksum."""


def testenv_cache() -> Path:
    """The testenv cache root: ``$EGRESS_TESTENV_CACHE``, else ``~/.cache/egress-console/testenv``."""
    configured = os.environ.get("EGRESS_TESTENV_CACHE")
    return Path(configured) if configured else Path.home() / ".cache" / "egress-console" / "testenv"


def istio_crd_file() -> Path:
    """The multi-document YAML of Istio's CRDs at the pinned version, fetched once if missing.

    Returns:
        ``<testenv cache>/istio-api/<version>/customresourcedefinitions.gen.yaml``.

    Raises:
        IstioCrdError: ``go`` is missing or failed, or the file's sha256 is not the pinned one.
    """
    path = testenv_cache() / "istio-api" / ISTIO_API_VERSION / Path(CRD_PATH_IN_MODULE).name
    if not path.is_file():
        install_checked(go_module_dir(ISTIO_API_MODULE, ISTIO_API_VERSION) / CRD_PATH_IN_MODULE, path, CRD_SHA256)
    return path


def install_checked(source: Path, target: Path, sha256: str) -> None:
    """Copy ``source`` to ``target`` (atomically) if its sha256 is ``sha256``; IstioCrdError otherwise."""
    data = source.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise IstioCrdError(f"{source}: sha256 {digest}, expected {sha256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    partial.write_bytes(data)
    os.replace(partial, target)  # NB: atomic, so a concurrent reader never sees half a file


def go_module_dir(module_path: str, version: str) -> Path:
    """The directory of ``module_path@version`` in the Go module cache, downloading it when missing."""
    go = shutil.which("go") or shutil.which("go", path="/usr/local/go/bin")
    if go is None:
        raise IstioCrdError(f"'go' not found on PATH (needed once to fetch {module_path}; Go >= 1.25)")
    # NB: run outside any go.mod and go.work, so that only the pinned version decides what is fetched.
    module = f"{module_path}@{version}"
    try:
        with tempfile.TemporaryDirectory() as outside:
            result = subprocess.run(
                [go, "mod", "download", "-json", module],
                cwd=outside,
                env={**os.environ, "GOWORK": "off", "GO111MODULE": "on"},
                capture_output=True,
                text=True,
                timeout=FETCH_TIMEOUT,
            )
        info = json.loads(result.stdout or "{}")
    except (OSError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
        raise IstioCrdError(f"go mod download {module} failed: {error}") from error
    if result.returncode != 0 or "Dir" not in info:
        raise IstioCrdError(f"go mod download {module} failed: {info.get('Error') or result.stderr.strip()}")
    return Path(info["Dir"])


if __name__ == "__main__":
    try:
        print(istio_crd_file())
    except IstioCrdError as error:
        sys.exit(f"istio_crds: {error}")
