"""Who sent a logged request: a pod name from ``kubectl logs --prefix`` mapped to its workload.

An access-log line names the pod only through the ``[pod/NAME/CONTAINER]`` prefix; policies
select workloads by namespace and labels. The map comes from a pod list (``kubectl get pods -A
-o json``, or the console's read-only pod list of a registered cluster); a log without
prefixes takes one namespace + labels given with it. Labels that differ between pods of one
workload (``pod-template-hash`` ...) are dropped: a policy that named them would stop matching
at the next rollout.

Usage::

    pods = PodIndex.from_document(json.load(handle))          # PodListError on a bad document
    resolver = SourceResolver(pods, fallback=Workload.of("shop", {"app": "web"}))
    workload_or_refusal = resolver.resolve("web-7d9c-abcde", line_number)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from policies.core.discovery.accesslog import RefusedLine, refused
from policies.core.i18n import _

UNKNOWN_POD = "EGRESS-LOG08"
NO_SOURCE = "EGRESS-LOG09"
AMBIGUOUS_POD = "EGRESS-LOG10"
POD_LIST_INVALID = "EGRESS-LOG20"
MAX_CACHED_PODS = 100_000

# NB: set per ReplicaSet, revision, pod or job run: a selector on them would not survive a rollout.
VOLATILE_LABELS = frozenset(
    {
        "pod-template-hash",
        "controller-revision-hash",
        "pod-template-generation",
        "statefulset.kubernetes.io/pod-name",
        "apps.kubernetes.io/pod-index",
        "batch.kubernetes.io/controller-uid",
        "batch.kubernetes.io/job-name",
        "controller-uid",
        "job-name",
        "security.istio.io/tlsMode",
        "service.istio.io/canonical-revision",
    }
)

Labels = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, order=True)
class Workload:
    """A source workload: its namespace and its stable labels (sorted pairs, hashable)."""

    namespace: str
    labels: Labels = ()

    @classmethod
    def of(cls, namespace: str, labels: Mapping[str, str] | None = None) -> Workload:
        """A workload from a namespace and a label mapping (volatile labels dropped)."""
        kept = {key: value for key, value in (labels or {}).items() if key not in VOLATILE_LABELS}
        return cls(namespace, tuple(sorted(kept.items())))

    @property
    def label_map(self) -> dict[str, str]:
        """The labels as a dict."""
        return dict(self.labels)

    @property
    def label(self) -> str:
        """``shop/app=web,version=v1`` (``shop/*`` without labels)."""
        pairs = ",".join(f"{key}={value}" for key, value in self.labels)
        return f"{self.namespace}/{pairs or '*'}"

    def as_dict(self) -> dict[str, Any]:
        """JSON contract: namespace, labels, label."""
        return {"namespace": self.namespace, "labels": self.label_map, "label": self.label}


class PodListError(ValueError):
    """A pod list that cannot be read, with a stable code and the JSON path of the problem."""

    def __init__(self, message: str, path: str) -> None:
        self.code = POD_LIST_INVALID
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


@dataclass
class PodIndex:
    """Pod name → the workloads of that name (one per namespace it exists in)."""

    pods: dict[str, list[Workload]] = field(default_factory=dict)

    @classmethod
    def from_document(cls, data: Any) -> PodIndex:
        """Read a ``kubectl get pods -A -o json`` document (a ``List``/``PodList`` or one ``Pod``).

        Raises:
            PodListError: the document is not a pod list, or an item lacks a name or namespace.
        """
        if isinstance(data, dict) and data.get("kind") == "Pod":
            data = {"items": [data]}
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise PodListError(_("not a pod list: expected an object with 'items' (kubectl get pods -A -o json)"), "")
        index = cls()
        for position, item in enumerate(items):
            name, workload = _pod(item, f"items[{position}]")
            index.pods.setdefault(name, []).append(workload)
        return index

    @classmethod
    def from_pods(cls, pods: Mapping[tuple[str, str], Mapping[str, str]]) -> PodIndex:
        """An index from ``{(namespace, pod name): labels}`` (e.g. the cluster layer's pod list)."""
        index = cls()
        for (namespace, name), labels in pods.items():
            index.pods.setdefault(name, []).append(Workload.of(namespace, labels))
        return index

    def __len__(self) -> int:
        return sum(len(found) for found in self.pods.values())


def _pod(item: Any, path: str) -> tuple[str, Workload]:
    metadata = item.get("metadata") if isinstance(item, dict) else None
    if not isinstance(metadata, dict):
        raise PodListError(_("a pod without metadata"), path)
    name, namespace, labels = metadata.get("name"), metadata.get("namespace"), metadata.get("labels") or {}
    if not isinstance(name, str) or not name:
        raise PodListError(_("a pod without metadata.name"), f"{path}.metadata.name")
    if not isinstance(namespace, str) or not namespace:
        raise PodListError(_("a pod without metadata.namespace"), f"{path}.metadata.namespace")
    if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
        raise PodListError(_("labels must map names to strings"), f"{path}.metadata.labels")
    return name, Workload.of(namespace, labels)


class SourceResolver:
    """Maps a line's pod (or its absence) to the source workload, caching each answer."""

    def __init__(self, pods: PodIndex | None = None, fallback: Workload | None = None) -> None:
        """
        Args:
            pods: Pod index for prefixed lines; None when no pod list was given.
            fallback: The workload of lines without a prefix (and of prefixed lines when
                ``pods`` is None); it also settles a pod name found in several namespaces.
        """
        self.pods = pods
        self.fallback = fallback
        self._cache: dict[str | None, Workload | tuple[str, str, dict[str, str]]] = {}

    def resolve(self, pod: str | None, line: int) -> Workload | RefusedLine:
        """The workload that sent line ``line`` (whose prefix named ``pod``), or why it has none."""
        found = self._cache.get(pod)
        if found is None:
            if len(self._cache) >= MAX_CACHED_PODS:
                self._cache.clear()  # NB: pod names come from the input; memory must not follow them.
            found = self._cache[pod] = self._lookup(pod)
        if isinstance(found, Workload):
            return found
        code, template, params = found
        return refused(line, code, template, "", **params)

    def _lookup(self, pod: str | None) -> Workload | tuple[str, str, dict[str, str]]:
        if pod is None or self.pods is None:
            if self.fallback is not None:
                return self.fallback
            if pod is None:
                return (
                    NO_SOURCE,
                    _("The line has no [pod/NAME/CONTAINER] prefix and no source namespace was given."),
                    {},
                )
            return UNKNOWN_POD, _("Pod '{pod}' cannot be mapped to a workload: no pod list was given."), {"pod": pod}
        candidates = self.pods.pods.get(pod, [])
        if len(candidates) == 1:
            return candidates[0]
        if not candidates:
            return (
                UNKNOWN_POD,
                _("Pod '{pod}' is not in the pod list (deleted since, or another cluster?)."),
                {"pod": pod},
            )
        settled = [w for w in candidates if self.fallback is not None and w.namespace == self.fallback.namespace]
        if len(settled) == 1:
            return settled[0]
        namespaces = ", ".join(sorted(w.namespace for w in candidates))
        return (
            AMBIGUOUS_POD,
            _("Pod '{pod}' exists in several namespaces ({namespaces}); give the namespace of this log."),
            {"pod": pod, "namespaces": namespaces},
        )
