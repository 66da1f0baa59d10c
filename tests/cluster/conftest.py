"""A scripted fake Kubernetes API server on 127.0.0.1 for testing the real client code.

Each test queues the responses the server should give (status, headers, body, delay) and gets
a ``KubernetesClusterApi`` connected to it through a real kubeconfig with a bearer token, so the
whole stack runs: kubeconfig loading, the official client, urllib3, our transport.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from policies.cluster.kubernetes_client import KubernetesClusterApi
from policies.cluster.transport import RetryPolicy

TOKEN = "s3cr3t-token-never-logged"


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    body: object = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class FakeApiServer:
    """Serves queued replies in order; the last reply repeats when the queue runs dry."""

    def __init__(self) -> None:
        self.replies: deque[Reply] = deque()
        self.seen: list[Seen] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def queue(self, *replies: Reply) -> None:
        self.replies.extend(replies)

    def _next(self) -> Reply:
        return self.replies.popleft() if len(self.replies) > 1 else self.replies[0]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                headers = {k.lower(): v for k, v in self.headers.items()}
                fake.seen.append(Seen(self.command, self.path, headers, self.rfile.read(length)))
                reply = fake._next()
                time.sleep(reply.delay)
                raw = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

            do_GET = do_PATCH = do_DELETE = do_POST = _serve  # noqa: N815 - http.server's naming

            def log_message(self, *args: object) -> None:
                pass

        return Handler


def write_kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "fake", "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": {"token": TOKEN}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "tester"}}],
        "current-context": "fake",
    }
    path.write_text(json.dumps(config))
    return path


@pytest.fixture
def api_server():
    fake = FakeApiServer()
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def cluster_at(tmp_path, sleeps):
    """Connect a real client to ``url`` with fast retries; sleeps are recorded, not slept."""

    def connect(url: str, read_timeout: float = 2.0) -> KubernetesClusterApi:
        policy = RetryPolicy(attempts=3, backoff=0.01, max_delay=5.0, connect_timeout=1.0, read_timeout=read_timeout)
        api = KubernetesClusterApi.from_kubeconfig(write_kubeconfig(tmp_path / "kubeconfig", url), "fake", retry=policy)
        api.transport.sleep = sleeps.append
        return api

    return connect


@pytest.fixture
def cluster(api_server, cluster_at) -> KubernetesClusterApi:
    return cluster_at(api_server.url)


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
