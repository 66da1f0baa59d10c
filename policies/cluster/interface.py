"""The one interface between the console and a Kubernetes cluster.

Everything above this package (apply, diff, drift, the Django services, the CLI) talks to a
cluster through :class:`ClusterApi`. There are two implementations: the real one on the
official ``kubernetes`` client (``kubernetes_client.KubernetesClusterApi``) and an in-memory
fake (``fake.FakeClusterApi``) for fast tests of the layers above. Objects travel as the plain
JSON dicts the API server speaks; the small typed values here name what the dicts cannot.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

Object = dict[str, Any]
FIELD_MANAGER = "egress-console"


@dataclass(frozen=True)
class ResourceType:
    """A served REST resource: the group/version/kind and the plural the URL needs."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        """``group/version`` (or ``version`` for the core group)."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def name(self) -> str:
        """``plural.group`` as RBAC and CRD names spell it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of one object: kind, namespace and name (apiVersion kept for display)."""

    kind: str
    namespace: str
    name: str
    api_version: str = ""

    @classmethod
    def of(cls, obj: Object) -> ObjectRef:
        """The reference of a manifest or a live object."""
        meta = obj.get("metadata") or {}
        return cls(obj.get("kind", ""), meta.get("namespace", ""), meta.get("name", ""), obj.get("apiVersion", ""))

    @property
    def key(self) -> tuple[str, str, str]:
        """Version-independent identity: a v1 and a v1beta1 view of one object are the same key."""
        return (self.kind, self.namespace, self.name)

    def __str__(self) -> str:
        return f"{self.kind} {self.namespace}/{self.name}" if self.namespace else f"{self.kind} {self.name}"


@dataclass(frozen=True)
class ApiGroup:
    """A served API group: its versions (server order) and the preferred one."""

    name: str
    versions: tuple[str, ...]
    preferred: str


class ClusterApi(Protocol):
    """What the console needs from a cluster: discovery plus get, list, apply and delete."""

    identity: str
    """A stable, secret-free key for caches (server URL and user name, never a token)."""

    def api_groups(self) -> list[ApiGroup]:
        """Every API group the server serves (one discovery request)."""
        ...

    def resources(self, *, group: str, version: str) -> list[ResourceType]:
        """The resources served in one group/version; empty when it is not served."""
        ...

    def get(self, *, resource: ResourceType, namespace: str, name: str) -> Object:
        """One object; raises NotFound."""
        ...

    def list(self, *, resource: ResourceType, label_selector: str, namespace: str = "") -> list[Object]:
        """Objects matching a label selector, in one namespace or (``""``) all of them."""
        ...

    def apply(self, *, resource: ResourceType, manifest: Object, dry_run: bool = False, force: bool = False) -> Object:
        """Server-side apply ``manifest`` as field manager ``egress-console``; returns the stored object.

        A ``metadata.resourceVersion`` in the manifest is a precondition: Conflict if it moved.
        """
        ...

    def delete(
        self, *, resource: ResourceType, namespace: str, name: str, resource_version: str = "", dry_run: bool = False
    ) -> None:
        """Delete one object, only if still at ``resource_version`` when given; raises NotFound."""
        ...
