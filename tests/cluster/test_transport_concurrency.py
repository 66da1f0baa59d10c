"""The real client under requests in flight: pooled connections, every request counted, none lost."""

from __future__ import annotations

import logging

import pytest

from policies.cluster.concurrency import REQUESTS_IN_FLIGHT, map_in_order
from policies.cluster.interface import ResourceType
from policies.cluster.kubernetes_client import KubernetesClusterApi
from tests.cluster.conftest import FakeApiServer, Reply

SERVICE_ENTRIES = ResourceType("networking.istio.io", "v1", "ServiceEntry", "serviceentries")


def test_the_connection_pool_holds_as_many_connections_as_requests_in_flight(cluster: KubernetesClusterApi) -> None:
    # Given / When: a client built from a kubeconfig (its own default is 5 per CPU)
    pool = cluster.transport.api_client.rest_client.pool_manager.connection_pool_kw

    # Then
    assert pool["maxsize"] >= REQUESTS_IN_FLIGHT


def test_requests_in_flight_reuse_pooled_connections_and_are_all_counted(
    api_server: FakeApiServer, cluster: KubernetesClusterApi, caplog: pytest.LogCaptureFixture
) -> None:
    # Given: a server that takes 20 ms per answer and keeps connections open, as the API server does
    api_server.server.RequestHandlerClass.protocol_version = "HTTP/1.1"  # type: ignore[attr-defined]
    api_server.queue(Reply(200, {"metadata": {"name": "x"}}, delay=0.02))
    names = [f"se-{i}" for i in range(4 * REQUESTS_IN_FLIGHT)]

    # When
    with caplog.at_level(logging.WARNING, logger="urllib3"):
        answers = map_in_order(
            lambda name: cluster.get(resource=SERVICE_ENTRIES, namespace="ns", name=name),
            names,
            concurrency=REQUESTS_IN_FLIGHT,
        )

    # Then: an answer per request, every attempt counted, no connection thrown away for lack of room
    # NB: the test server's listen backlog is 5, so a burst of new connections may need a retry.
    assert len(answers) == len(names)
    assert cluster.transport.requests["get"] >= len(names)
    assert {seen.path.rsplit("/", 1)[-1] for seen in api_server.seen} == set(names)
    assert [r.message for r in caplog.records if "pool is full" in r.getMessage()] == []
