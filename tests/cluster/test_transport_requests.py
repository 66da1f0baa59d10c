"""What the transport puts on the wire: the request the API server receives, through a proxy too.

The transport sends through the client library's connection pool itself (not the library's call
path), so these pin down what that must keep: the bearer token, the media types, the encoded
query, the environment's proxy, and a TLS failure reported once, not retried.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

import pytest

from policies.cluster.errors import ClusterUnreachable
from policies.cluster.interface import FIELD_MANAGER, ResourceType
from tests.cluster.conftest import TOKEN, Reply

SERVICE_ENTRIES = ResourceType("networking.istio.io", "v1", "ServiceEntry", "serviceentries")
MANIFEST = {
    "apiVersion": "networking.istio.io/v1",
    "kind": "ServiceEntry",
    "metadata": {"name": "api ä", "namespace": "team-a"},
    "spec": {"hosts": ["api.example.com"]},
}


def test_an_apply_sends_token_media_types_and_encoded_query(api_server, cluster) -> None:
    # Given
    api_server.queue(Reply(200, {"metadata": {"name": "api ä", "resourceVersion": "7"}}))

    # When
    cluster.apply(resource=SERVICE_ENTRIES, manifest=MANIFEST, dry_run=True, force=True)

    # Then: one PATCH with the manifest as JSON, our field manager, and the token in the header only
    (seen,) = api_server.seen
    assert seen.method == "PATCH"
    assert seen.path == (
        "/apis/networking.istio.io/v1/namespaces/team-a/serviceentries/api%20%C3%A4"
        f"?fieldManager={FIELD_MANAGER}&dryRun=All&force=true"
    )
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["content-type"] == "application/apply-patch+yaml"
    assert seen.headers["accept"] == "application/json"
    assert json.loads(seen.body) == MANIFEST


def test_a_label_selector_reaches_the_server_intact(api_server, cluster) -> None:
    # Given
    api_server.queue(Reply(200, {"items": []}))
    selector = "egress.console/policy=a,egress.console/namespace in (x,y)"

    # When
    cluster.list(resource=SERVICE_ENTRIES, label_selector=selector)

    # Then
    (seen,) = api_server.seen
    assert seen.method == "GET"
    assert "Bearer" in seen.headers["authorization"]
    assert "content-type" not in seen.headers
    path, _, query = seen.path.partition("?")
    assert path == "/apis/networking.istio.io/v1/serviceentries"
    assert " " not in query
    assert parse_qs(query) == {"labelSelector": [selector]}


def test_the_environments_proxy_carries_every_request(api_server, cluster_at, monkeypatch) -> None:
    # Given: a proxy in the environment (the fake server plays it) and an API server only it can reach
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", api_server.url)
    monkeypatch.setenv("http_proxy", api_server.url)
    api_server.queue(Reply(200, {"metadata": {"name": "x"}}))
    cluster = cluster_at("http://apiserver.invalid:6443")

    # When: more than one request (the token hook re-assigns the host before each)
    for name in ("a", "b"):
        cluster.get(resource=SERVICE_ENTRIES, namespace="ns", name=name)

    # Then: both went to the proxy, asking for the API server's absolute URL
    assert [seen.path for seen in api_server.seen] == [
        "http://apiserver.invalid:6443/apis/networking.istio.io/v1/namespaces/ns/serviceentries/a",
        "http://apiserver.invalid:6443/apis/networking.istio.io/v1/namespaces/ns/serviceentries/b",
    ]


def test_a_tls_failure_is_unreachable_and_not_retried(api_server, cluster_at, sleeps) -> None:
    # Given: a kubeconfig saying https for a server that speaks plain HTTP
    cluster = cluster_at(api_server.url.replace("http://", "https://"))

    # When
    with pytest.raises(ClusterUnreachable) as raised:
        cluster.get(resource=SERVICE_ENTRIES, namespace="ns", name="x")

    # Then
    assert raised.value.message.startswith("TLS handshake with the API server failed: SSLError")
    assert sleeps == []
