"""The test tools pin one Istio API version: the CRDs the control plane installs and the module
the Istio harness is built from must not drift apart."""

from __future__ import annotations

import re
from pathlib import Path

from testenv.istio_crds import ISTIO_API_VERSION

GO_MOD = Path(__file__).resolve().parents[2] / "testenv" / "istio" / "go.mod"


def test_the_crds_and_the_harness_use_the_same_istio_api_version() -> None:
    # given the replace line of testenv/istio/go.mod for istio.io/api
    match = re.search(r"^\s*istio\.io/api\s*=>\s*istio\.io/api\s+(\S+)\s*$", GO_MOD.read_text(), re.MULTILINE)

    # then it names the version testenv/istio_crds.py fetches the CRDs from
    assert match is not None
    assert match.group(1) == ISTIO_API_VERSION
