"""An in-memory :class:`~policies.cluster.interface.ClusterApi` for fast tests of the layers above.

It keeps objects in a dict and imitates the parts of the API server the console relies on:
discovery of the Istio and ASM groups, label-selector lists, server-side apply with a
resourceVersion precondition and dry run, field-manager conflicts against edits made with
:meth:`FakeClusterApi.edit`, namespaces that must exist, and injected failures. It does not
imitate schema validation; integration tests against the real API server cover that.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from policies.cluster.discovery import ASM, GROUP_OF_KIND, NETWORKING, PLURALS, SECURITY
from policies.cluster.errors import ClusterError, Conflict, FieldCause, NotFound, crd_missing
from policies.cluster.interface import FIELD_MANAGER, ApiGroup, Object, ResourceType

ISTIO_GROUPS = {NETWORKING: ("v1", "v1beta1"), SECURITY: ("v1", "v1beta1")}
Key = tuple[str, str, str, str]


class FakeClusterApi:
    """A pretend cluster; ``requests`` counts calls per verb like the real transport does."""

    def __init__(
        self,
        *,
        groups: dict[str, tuple[str, ...]] | None = None,
        namespaces: set[str] | None = None,
        identity: str = "fake://cluster",
    ) -> None:
        self.identity = identity
        self.groups = dict(ISTIO_GROUPS if groups is None else groups)
        self.namespaces = namespaces
        self.objects: dict[Key, Object] = {}
        self.foreign: dict[Key, dict[tuple[str, ...], tuple[str, Any]]] = {}
        self.failures: dict[tuple[str, str], ClusterError] = {}
        self.requests: list[tuple[str, str]] = []
        self._versions = itertools.count(1)

    # -- test helpers -------------------------------------------------------------------------

    def fail(self, verb: str, kind: str, error: ClusterError) -> None:
        """Make every ``verb`` (get, list, patch, delete) on ``kind`` raise ``error``."""
        self.failures[(verb, kind)] = error

    def edit(self, kind: str, namespace: str, name: str, path: tuple[str, ...], value: Any, *, manager: str) -> None:
        """Another field manager sets ``path`` (e.g. ``("spec", "hosts")``) on a stored object."""
        key = self._key(kind, namespace, name)
        stored = self.objects[key]
        _set(stored, path, value)
        self.foreign.setdefault(key, {})[path] = (manager, value)
        self._bump(stored)

    def stored(self, kind: str, namespace: str, name: str) -> Object | None:
        """A copy of a stored object, or None."""
        found = self.objects.get(self._key(kind, namespace, name))
        return copy.deepcopy(found) if found is not None else None

    # -- ClusterApi ---------------------------------------------------------------------------

    def api_groups(self) -> list[ApiGroup]:
        """The configured groups."""
        self.requests.append(("get", "apigroups"))
        return [ApiGroup(name, versions, versions[0]) for name, versions in self.groups.items() if versions]

    def resources(self, *, group: str, version: str) -> list[ResourceType]:
        """Our kinds in a configured group/version."""
        self.requests.append(("get", f"{group}/{version}"))
        if version not in self.groups.get(group, ()):
            return []
        return [ResourceType(group, version, kind, PLURALS[kind]) for kind, g in GROUP_OF_KIND.items() if g == group]

    def get(self, *, resource: ResourceType, namespace: str, name: str) -> Object:
        """A stored object; NotFound otherwise."""
        self._request("get", resource)
        found = self.objects.get(self._key(resource.kind, namespace, name))
        if found is None:
            raise NotFound(f'{resource.name} "{name}" not found', status=404)
        return self._view(found, resource)

    def list(self, *, resource: ResourceType, label_selector: str, namespace: str = "") -> list[Object]:
        """Stored objects of this kind whose labels include every ``k=v`` of the selector."""
        self._request("list", resource)
        wanted = dict(part.split("=", 1) for part in label_selector.split(",") if part)
        return [
            self._view(obj, resource)
            for (_, kind, ns, _), obj in sorted(self.objects.items())
            if kind == resource.kind
            and (not namespace or ns == namespace)
            and wanted.items() <= (obj["metadata"].get("labels") or {}).items()
        ]

    def apply(self, *, resource: ResourceType, manifest: Object, dry_run: bool = False, force: bool = False) -> Object:
        """Server-side apply with precondition, conflicts against foreign edits, and dry run."""
        self._request("patch", resource)
        meta = manifest["metadata"]
        key = self._key(resource.kind, meta.get("namespace", ""), meta["name"])
        self._require_namespace(meta.get("namespace", ""))
        current = self.objects.get(key)
        self._check_precondition(current, meta.get("resourceVersion"), resource, meta["name"])
        self._check_conflicts(key, manifest, force)
        merged = self._merged(current, manifest, key, force)
        if dry_run and current is None:
            del merged["metadata"]["resourceVersion"]  # NB: like the server: nothing stored, no version yet
        if not dry_run:
            self.objects[key] = merged
            if force:
                self.foreign.pop(key, None)
        return self._view(merged, resource)

    def delete(
        self, *, resource: ResourceType, namespace: str, name: str, resource_version: str = "", dry_run: bool = False
    ) -> None:
        """Remove a stored object (precondition: ``resource_version``)."""
        self._request("delete", resource)
        key = self._key(resource.kind, namespace, name)
        current = self.objects.get(key)
        if current is None:
            raise NotFound(f'{resource.name} "{name}" not found', status=404)
        self._check_precondition(current, resource_version or None, resource, name)
        if not dry_run:
            del self.objects[key]
            self.foreign.pop(key, None)

    # -- internals ----------------------------------------------------------------------------

    def _request(self, verb: str, resource: ResourceType) -> None:
        self.requests.append((verb, resource.kind))
        # NB: the core group (ConfigMaps, Namespaces) is always served; only API groups can be missing.
        if resource.group and resource.version not in self.groups.get(resource.group, ()):
            raise crd_missing(resource.name)
        if (verb, resource.kind) in self.failures:
            raise self.failures[(verb, resource.kind)]

    @staticmethod
    def _key(kind: str, namespace: str, name: str) -> Key:
        return (GROUP_OF_KIND.get(kind, ""), kind, namespace, name)

    def _require_namespace(self, namespace: str) -> None:
        if self.namespaces is not None and namespace and namespace not in self.namespaces:
            raise NotFound(
                f"Namespace {namespace!r} does not exist; create it with `kubectl create namespace {namespace}`.",
                status=404,
            )

    @staticmethod
    def _check_precondition(current: Object | None, wanted: str | None, resource: ResourceType, name: str) -> None:
        if wanted and (current is None or current["metadata"]["resourceVersion"] != wanted):
            raise Conflict(f'{resource.name} "{name}": the object has been modified since it was read')

    def _check_conflicts(self, key: Key, manifest: Object, force: bool) -> None:
        clashes = [
            (path, manager)
            for path, (manager, value) in self.foreign.get(key, {}).items()
            if _has(manifest, path) and _get(manifest, path) != value
        ]
        if clashes and not force:
            managers = tuple(dict.fromkeys(m for _, m in clashes))
            causes = tuple(
                FieldCause("." + ".".join(p), "FieldManagerConflict", f'conflict with "{m}"') for p, m in clashes
            )
            raise Conflict(
                f"Field manager(s) {', '.join(managers)} own "
                f"{', '.join(c.field for c in causes)}; re-run with --force-conflicts to take them over.",
                managers=managers,
                causes=causes,
            )

    def _merged(self, current: Object | None, manifest: Object, key: Key, force: bool) -> Object:
        merged = copy.deepcopy(manifest)
        merged["metadata"].pop("resourceVersion", None)
        for path, (_, value) in ({} if force else self.foreign.get(key, {})).items():
            if not _has(manifest, path):
                _set(merged, path, value)
        if current is None:
            merged["metadata"].update(uid=f"uid-{next(self._versions)}", generation=1)
            merged["metadata"]["resourceVersion"] = str(next(self._versions))
        else:
            self._carry_over(current, merged)
        merged["metadata"]["managedFields"] = [
            {"manager": FIELD_MANAGER, "operation": "Apply", "fieldsV1": _paths(manifest)}
        ]
        return merged

    def _carry_over(self, current: Object, merged: Object) -> None:
        meta = current["metadata"]
        merged["metadata"].update(
            uid=meta["uid"], generation=meta["generation"], resourceVersion=meta["resourceVersion"]
        )
        if _content(current) != _content(merged):
            self._bump(merged)

    def _bump(self, obj: Object) -> None:
        obj["metadata"]["resourceVersion"] = str(next(self._versions))
        obj["metadata"]["generation"] = obj["metadata"].get("generation", 1) + 1

    @staticmethod
    def _view(obj: Object, resource: ResourceType) -> Object:
        view = copy.deepcopy(obj)
        view["apiVersion"] = resource.api_version
        return view


def _content(obj: Object) -> Any:
    meta = {k: v for k, v in obj["metadata"].items() if k in ("name", "namespace", "labels", "annotations")}
    return {**{k: v for k, v in obj.items() if k not in ("metadata", "apiVersion")}, "metadata": meta}


def _paths(manifest: Object) -> dict[str, list[str] | bool]:
    """A stand-in for managedFields' fieldsV1: the top-level fields and their keys (no resourceVersion)."""
    owned: dict[str, list[str] | bool] = {
        k: sorted(v) if isinstance(v, dict) else True for k, v in manifest.items() if k != "apiVersion"
    }
    owned["metadata"] = sorted(k for k in manifest.get("metadata", {}) if k != "resourceVersion")
    return owned


def _has(obj: Any, path: tuple[str, ...]) -> bool:
    for part in path:
        if not isinstance(obj, dict) or part not in obj:
            return False
        obj = obj[part]
    return True


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        obj = obj[part]
    return obj


def _set(obj: Any, path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        obj = obj.setdefault(part, {})
    obj[path[-1]] = value


__all__ = ["ASM", "FakeClusterApi"]
