"""The one place where the console sends an HTTP request to a Kubernetes API server.

Every request of the real implementation passes through :meth:`Transport.request`, so this is
where the rules live that must hold for all of them: a connect and a read timeout are always
set; 429, 5xx and connection failures are retried a bounded number of times, waiting what the
server's ``Retry-After`` asks (capped) or an exponential backoff; each attempt is logged with
method, path, status and timing but never a header or body (tokens live in headers); and the
client library's exceptions are translated into ``policies.cluster.errors`` with ``from``.
It also counts requests, which is how the benchmark proves "one request per object".
A plan or an apply calls it from several threads at once (``concurrency``): the client's
connection pool is sized for that, and the counter is guarded.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from policies.cluster.concurrency import REQUESTS_IN_FLIGHT
from policies.cluster.errors import ClusterError, ClusterUnreachable, UnexpectedResponse, error_from_response

log = logging.getLogger(__name__)

JSON = "application/json"
APPLY_PATCH = "application/apply-patch+yaml"


@dataclass(frozen=True)
class RetryPolicy:
    """How long to wait for the server and how often to try again."""

    attempts: int = 4
    backoff: float = 0.25
    max_delay: float = 10.0
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before attempt ``attempt + 1``: Retry-After if given, else exponential."""
        wanted = retry_after if retry_after is not None else self.backoff * 2 ** (attempt - 1)
        return max(0.0, min(wanted, self.max_delay))


class _RetryableFailure(Exception):
    """One attempt failed in a way worth retrying; carries our error and the server's hint."""

    def __init__(self, error: ClusterError, retry_after: float | None) -> None:
        super().__init__(error.message)
        self.error = error
        self.retry_after = retry_after


class Transport:
    """Sends requests for one ``ApiClient`` (one cluster + user) with timeouts and bounded retries."""

    def __init__(
        self, api_client: ApiClient, *, retry: RetryPolicy | None = None, sleep: Callable[[float], None] = time.sleep
    ) -> None:
        # NB: urllib3's own retries are switched off so that ours are the only ones (bounded, logged).
        api_client.configuration.retries = False
        pool_settings = api_client.rest_client.pool_manager.connection_pool_kw
        pool_settings["retries"] = False
        # NB: the client sizes its pool at 5 per CPU; fewer connections than requests in flight would
        # open and discard a connection per extra request ("Connection pool is full" warnings).
        pool_settings["maxsize"] = max(pool_settings.get("maxsize") or 1, REQUESTS_IN_FLIGHT)
        self.api_client = api_client
        self.retry = retry or RetryPolicy()
        self._pool = api_client.rest_client.pool_manager
        # NB: pins the proxy the pool was built with (the setter stops the client deriving it from the
        # environment): the kubeconfig's token-refresh hook re-assigns the host before every request, and
        # each assignment re-read the whole environment for proxies, a fifth of a request's CPU (measured).
        api_client.configuration.proxy = api_client.configuration.proxy
        self._base_url = api_client.configuration.host
        self.sleep = sleep
        self.requests: Counter[str] = Counter()
        self._counting = threading.Lock()

    @property
    def request_count(self) -> int:
        """HTTP requests sent so far (every attempt counts)."""
        return sum(self.requests.values())

    def request(
        self,
        method: str,
        path: str,
        *,
        verb: str,
        resource: str,
        query: Sequence[tuple[str, str]] = (),
        body: Any = None,
        content_type: str = JSON,
    ) -> Any:
        """Send one request and return the decoded JSON body; raise a ClusterError on failure.

        Args:
            method: HTTP method.
            path: URL path below the server, e.g. ``/apis/networking.istio.io/v1``.
            verb: Kubernetes verb for error messages (get, list, patch, delete).
            resource: ``plural.group`` for error messages.
            query: query parameters.
            body: JSON-serialisable body.
            content_type: body media type (JSON or apply-patch YAML; JSON is valid YAML).
        """
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return self._attempt(
                    method,
                    path,
                    attempt,
                    verb=verb,
                    resource=resource,
                    query=query,
                    body=body,
                    content_type=content_type,
                )
            except _RetryableFailure as failure:
                if attempt == self.retry.attempts:
                    raise failure.error from failure.__cause__
                self.sleep(self.retry.delay(attempt, failure.retry_after))
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _attempt(
        self,
        method: str,
        path: str,
        attempt: int,
        *,
        verb: str,
        resource: str,
        query: Sequence[tuple[str, str]],
        body: Any,
        content_type: str,
    ) -> Any:
        started = time.monotonic()
        with self._counting:
            self.requests[f"{verb} (dry run)" if ("dryRun", "All") in query else verb] += 1
        try:
            response = self._send(method, path, query, body, content_type)
        except urllib3.exceptions.HTTPError as exc:
            self._log(method, path, attempt, type(exc).__name__, started)
            error = ClusterUnreachable(f"Cannot reach the API server ({_reason(exc)}) for {verb} {resource}.")
            raise _RetryableFailure(error, None) from exc
        self._log(method, path, attempt, response.status, started)
        return self._decode(response, verb=verb, resource=resource)

    def _send(self, method: str, path: str, query: Sequence[tuple[str, str]], body: Any, content_type: str) -> Any:
        # NB: straight to the client's pool (its TLS, client certificate and proxy settings): the client's own
        # call path walks every header, query and body looking for OpenAPI models to convert, a third of a
        # request's CPU (measured). The token is fetched per request, so the refresh hooks still run.
        headers = {**self.api_client.default_headers, "Accept": JSON}
        if body is not None:
            headers["Content-Type"] = content_type
        self.api_client.update_params_for_auth(headers, None, ["BearerToken"], path, method, None)
        url = self._base_url + path + (f"?{urlencode(query, quote_via=quote)}" if query else "")
        payload = json.dumps(body).encode("utf-8") if body is not None else None
        timeout = urllib3.Timeout(connect=self.retry.connect_timeout, read=self.retry.read_timeout)
        try:
            return self._pool.request(
                method, url, body=payload, headers=headers, timeout=timeout, retries=False, preload_content=True
            )
        except urllib3.exceptions.SSLError as exc:  # NB: a TLS failure is not transient; retrying cannot help.
            raise ClusterUnreachable(f"TLS handshake with the API server failed: {type(exc).__name__}\n{exc}") from exc

    def _decode(self, response: Any, *, verb: str, resource: str) -> Any:
        text = (response.data or b"").decode("utf-8", errors="replace")
        if response.status < 400:
            return _json_or_error(text, response.status)
        cause = ApiException(http_resp=response, body=text)
        error = error_from_response(response.status, text, verb=verb, resource=resource)
        if response.status == 429 or response.status >= 500:
            raise _RetryableFailure(error, _retry_after(response.headers)) from cause
        raise error from cause

    def _log(self, method: str, path: str, attempt: int, outcome: object, started: float) -> None:
        log.log(
            _level(outcome),
            "%s %s -> %s (attempt %d/%d, %.0f ms)",
            method,
            path,
            outcome,
            attempt,
            self.retry.attempts,
            (time.monotonic() - started) * 1000,
        )


def _level(outcome: object) -> int:
    """Retryable failures are warnings (operators want to see them), refusals info, successes debug."""
    if not isinstance(outcome, int) or outcome == 429 or outcome >= 500:
        return logging.WARNING
    return logging.INFO if outcome >= 400 else logging.DEBUG


def _json_or_error(text: str, status: int) -> Any:
    try:
        return json.loads(text) if text else {}
    except ValueError as exc:
        raise UnexpectedResponse(
            f"The API server answered {status} with a body that is not JSON.", status=status
        ) from exc


def _retry_after(headers: Any) -> float | None:
    value = headers.get("Retry-After") if headers is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:  # NB: an HTTP-date is allowed too; the API server only sends seconds.
        return None


def _reason(exc: Exception) -> str:
    name = type(exc).__name__
    return {
        "NewConnectionError": "connection refused",
        "ConnectTimeoutError": "connect timed out",
        "ReadTimeoutError": "read timed out",
        "ProtocolError": "connection dropped",
    }.get(name, name)
