"""Istio host matching, precomputed so that a request costs dictionary lookups.

Istio hosts are exact FQDNs or wildcard suffixes (``*.example.com`` matches any name ending in
``.example.com``; ``*`` matches everything). Envoy prefers the exact name, then the longest
wildcard; among equal patterns the first object (oldest, here: first in the list) wins.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

T = TypeVar("T")


def host_matches(pattern: str, host: str) -> bool:
    """Whether an Istio host pattern covers a concrete host name."""
    if pattern == "*":
        return True
    if pattern.startswith("*"):
        return host.endswith(pattern[1:])
    return pattern == host


def any_host_matches(patterns: Iterable[str], host: str) -> bool:
    """Whether any of the patterns covers ``host``."""
    return any(host_matches(pattern, host) for pattern in patterns)


class HostTable(Generic[T]):
    """Host pattern → value, answering "most specific pattern for this host" quickly."""

    __slots__ = ("_cache", "_exact", "_wildcards")

    def __init__(self) -> None:
        self._exact: dict[str, T] = {}
        self._wildcards: list[tuple[str, T]] = []
        self._cache: dict[str, T | None] = {}

    def add(self, pattern: str, value: T) -> None:
        """Register ``value`` under ``pattern`` unless an earlier value holds that pattern."""
        self._cache.clear()
        if not pattern.startswith("*"):
            self._exact.setdefault(pattern, value)
        elif all(existing != pattern for existing, _value in self._wildcards):
            self._wildcards.append((pattern, value))
            # NB: stable sort keeps first-come order among equally long patterns.
            self._wildcards.sort(key=lambda item: -len(item[0]))

    def get(self, host: str) -> T | None:
        """The value of the most specific pattern covering ``host``, if any."""
        try:
            return self._cache[host]
        except KeyError:
            pass
        value = self._exact.get(host)
        if value is None:
            value = next((v for pattern, v in self._wildcards if host_matches(pattern, host)), None)
        if len(self._cache) < 4096:
            self._cache[host] = value
        return value

    def values(self) -> list[T]:
        """Every registered value (exact ones first)."""
        return [*self._exact.values(), *(value for _pattern, value in self._wildcards)]

    def __bool__(self) -> bool:
        return bool(self._exact or self._wildcards)
