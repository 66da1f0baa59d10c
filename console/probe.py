"""The container's health check: ``python -m console.probe [PATH]`` exits 0 when ``PATH`` answers 200.

The slim image has no curl, and the probe must pass Django's host check: it asks the server on
127.0.0.1:``$PORT`` (8000) with the first ``ALLOWED_HOSTS`` entry as ``Host``, as a client would.
``/healthz`` (the default) is the liveness probe, ``/readyz`` the readiness probe. Stdlib only.
"""

from __future__ import annotations

import http.client
import os
import sys


def probe_host() -> str:
    """The ``Host`` header to send: the first allowed host (``.example.com`` → ``example.com``)."""
    first = os.environ.get("ALLOWED_HOSTS", "localhost").split(",")[0].strip().lstrip(".")
    return "localhost" if first in ("", "*") else first


def probe(path: str = "/healthz", timeout: float = 5.0) -> bool:
    """True when ``GET path`` on this container's server answers 200 within ``timeout`` seconds."""
    connection = http.client.HTTPConnection("127.0.0.1", int(os.environ.get("PORT") or 8000), timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": probe_host()})
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(0 if probe(sys.argv[1] if len(sys.argv) > 1 else "/healthz") else 1)
