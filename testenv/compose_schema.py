"""The Compose specification's JSON schema, from a pinned Go module, for the static check of docker-compose.yml.

No Docker engine runs on the machines that test this project, so ``docker compose config`` cannot
judge the compose file. The schema Docker Compose itself validates with ships in the
``github.com/compose-spec/compose-go/v2`` Go module (``schema/compose-spec.json``); like Istio's
CRDs (``istio_crds``) it is fetched once through the Go module proxy at a pinned version, checked
against a pinned sha256 and kept in the testenv cache, never committed.

    python -m testenv.compose_schema    # fetch once if missing, print the path
"""

from __future__ import annotations

import sys
from pathlib import Path

from testenv.istio_crds import IstioCrdError, go_module_dir, install_checked, testenv_cache

COMPOSE_GO_MODULE = "github.com/compose-spec/compose-go/v2"
COMPOSE_GO_VERSION = "v2.16.2"
SCHEMA_PATH_IN_MODULE = "schema/compose-spec.json"
SCHEMA_SHA256 = "f266dcbb043229405d7cedd5aec918f9102c2b3d5e3850808fdd8edd564a43ff"


def compose_schema_file() -> Path:
    """The Compose specification's JSON schema at the pinned version, fetched once if missing.

    Returns:
        ``<testenv cache>/compose-go/<version>/compose-spec.json``.

    Raises:
        IstioCrdError: ``go`` is missing or failed, or the file's sha256 is not the pinned one.
    """
    path = testenv_cache() / "compose-go" / COMPOSE_GO_VERSION / Path(SCHEMA_PATH_IN_MODULE).name
    if not path.is_file():
        install_checked(
            go_module_dir(COMPOSE_GO_MODULE, COMPOSE_GO_VERSION) / SCHEMA_PATH_IN_MODULE, path, SCHEMA_SHA256
        )
    return path


if __name__ == "__main__":
    try:
        print(compose_schema_file())
    except IstioCrdError as error:
        sys.exit(f"compose_schema: {error}")
