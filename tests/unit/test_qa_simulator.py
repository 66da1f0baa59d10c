"""Regressions found by exploratory testing of the simulator against the spec §5 model.

Each test names the behaviour it pins; the policies are the seed's, so the expected outcomes
follow from the spec's own rows (S3-5, S4-4, A4) rather than from the simulator's code.
"""

from __future__ import annotations

from typing import Any

import pytest

from policies.core.expansion import expand_policy
from policies.core.simulator import RESET, Request, SimulationInputError, build_mesh, parse_source
from policies.core.yamlio import load_all
from policies.seed import seed_text
from tests.fixtures.seed import seed_policy


def scenario_4_objects(*, with_deny: bool = False) -> list[dict[str, Any]]:
    objects = expand_policy(seed_policy("4"))
    if with_deny:
        objects += [document.data for document in load_all(seed_text("authorization-deny-post"))]
    return objects


@pytest.mark.parametrize(
    ("labels", "method", "with_deny"),
    [
        ({"app": "sleep-b"}, "GET", False),  # S4-4 in plain HTTP: catch-all -deny subset, closed at the gateway
        ({"app": "sleep-a"}, "POST", True),  # A4 in plain HTTP: the DENY rule matches on the TCP chain
    ],
)
def test_plain_http_on_a_tcp_chain_that_the_gateway_closes_is_a_reset_not_a_503(
    labels: dict[str, str], method: str, with_deny: bool
) -> None:
    # Given: scenario 4's TCP entry on 443 without addresses takes any plain-HTTP connection on 443
    mesh = build_mesh(scenario_4_objects(with_deny=with_deny))

    # When: the gateway closes the connection
    result = mesh.simulate(Request("mytest", labels, "http://www.alibabacloud.com:443", method))

    # Then: the client sidecar is a TCP proxy there (no HTTP connection manager to answer 503)
    assert result.status == RESET
    assert "503" not in result.reason


@pytest.mark.parametrize("text", ["mytest:app=sleep-a,app=sleep-b", "mytest:app=a, app=a"])
def test_a_source_naming_a_label_key_twice_is_refused(text: str) -> None:
    # Given: a pod has one value per label key, so which one is meant is unknown
    # When
    with pytest.raises(SimulationInputError) as caught:
        parse_source(text)

    # Then
    assert caught.value.code == "EGRESS-SIM09"
    assert caught.value.message == f"Source '{text}': label key 'app' appears twice; give each key once."
