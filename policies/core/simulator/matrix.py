"""Reachability matrix: every source against every URL, for the CLI, the console and the API."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from policies.core.i18n import Translate, english
from policies.core.simulator.request import Request, parse_source, workload_name

if TYPE_CHECKING:
    from policies.core.simulator.mesh import Mesh
    from policies.core.simulator.result import SimulationResult


@dataclass(frozen=True)
class Source:
    """A client workload: namespace plus labels."""

    namespace: str
    labels: dict[str, str]

    @classmethod
    def parse(cls, text: str) -> Source:
        """From ``"mytest:app=sleep-a"``; raises ``SimulationInputError`` when malformed."""
        namespace, labels = parse_source(text)
        return cls(namespace, labels)

    @property
    def label(self) -> str:
        """``mytest:app=sleep-a`` (the CLI's own notation)."""
        pairs = ",".join(f"{k}={v}" for k, v in self.labels.items())
        return f"{self.namespace}:{pairs}" if pairs else self.namespace

    @property
    def workload(self) -> str:
        """``mytest/sleep-a`` as hops name it."""
        return workload_name(self.namespace, self.labels)


@dataclass(frozen=True)
class ReachabilityMatrix:
    """``results[i][j]`` is what ``sources[i]`` gets for ``urls[j]``."""

    sources: list[Source]
    urls: list[str]
    results: list[list[SimulationResult]]

    def as_dict(self, translate: Translate = english) -> dict[str, Any]:
        """JSON contract: sources, urls, cells (status, upstream, reason per cell; English unless ``translate``)."""
        return {
            "sources": [source.label for source in self.sources],
            "urls": list(self.urls),
            "cells": [[_cell(result, translate) for result in row] for row in self.results],
        }


def _cell(result: SimulationResult, translate: Translate) -> dict[str, Any]:
    return {"status": result.status, "upstream": result.upstream, "reason": result.reason_text.render(translate)}


def reachability_matrix(mesh: Mesh, sources: list[Source], urls: list[str], method: str = "GET") -> ReachabilityMatrix:
    """Simulate every source against every URL.

    Args:
        mesh: A mesh from ``build_mesh``.
        sources: Client workloads (rows).
        urls: Request URLs (columns).
        method: HTTP method of every request.

    Returns:
        The matrix of results.

    Raises:
        SimulationInputError: a URL or the method cannot be read.
    """
    results = [
        [mesh.simulate(Request(source.namespace, source.labels, url, method)) for url in urls] for source in sources
    ]
    return ReachabilityMatrix(list(sources), list(urls), results)
