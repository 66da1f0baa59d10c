"""The real :class:`~policies.cluster.interface.ClusterApi`, on the official ``kubernetes`` client.

The client library loads kubeconfig files and in-cluster service-account credentials (token
refresh, exec plugins, client certificates) and owns the connection pool; every request goes
through our :class:`~policies.cluster.transport.Transport`, which adds timeouts, retries and
error translation. We build URLs ourselves from discovered :class:`ResourceType` values instead
of using ``DynamicClient``, whose start-up discovers every group of the cluster: we need three.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import quote

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.config.config_exception import ConfigException

from policies.cluster.errors import ClusterError, CrdMissing, UnexpectedResponse
from policies.cluster.interface import FIELD_MANAGER, ApiGroup, Object, ResourceType
from policies.cluster.transport import APPLY_PATCH, RetryPolicy, Transport


class ConfigurationError(ClusterError):
    """The kubeconfig or in-cluster credentials could not be loaded."""

    code = "CLUSTER-E009"


class KubernetesClusterApi:
    """A cluster reached with the official client; see ``ClusterApi`` for the verbs."""

    def __init__(self, transport: Transport, identity: str) -> None:
        self.transport = transport
        self.identity = identity

    @classmethod
    def from_kubeconfig(
        cls, path: str | os.PathLike[str] | None = None, context: str | None = None, *, retry: RetryPolicy | None = None
    ) -> KubernetesClusterApi:
        """Connect like kubectl: ``path`` (default ``$KUBECONFIG`` or ``~/.kube/config``) and ``context``."""
        file = os.fspath(path) if path else os.environ.get("KUBECONFIG", "").split(os.pathsep)[0] or None
        try:
            api_client = k8s_config.new_client_from_config(config_file=file, context=context, persist_config=False)
        except (ConfigException, OSError) as exc:
            where = f"context {context!r} of {file or '~/.kube/config'}" if context else (file or "~/.kube/config")
            raise ConfigurationError(f"Cannot load kubeconfig {where}: {_first_line(exc)}") from exc
        identity = f"{api_client.configuration.host}#{context or 'current-context'}"
        return cls(Transport(api_client, retry=retry), identity)

    @classmethod
    def in_cluster(cls, *, retry: RetryPolicy | None = None) -> KubernetesClusterApi:
        """Connect with the pod's service account (token and CA mounted by Kubernetes)."""
        configuration = k8s_client.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=configuration)
        except ConfigException as exc:
            raise ConfigurationError(f"Not running in a cluster: {_first_line(exc)}") from exc
        api_client = k8s_client.ApiClient(configuration)
        return cls(Transport(api_client, retry=retry), f"{configuration.host}#in-cluster")

    def api_groups(self) -> list[ApiGroup]:
        """Every served API group (``GET /apis``); UnexpectedResponse when the server is no Kubernetes API server."""
        try:
            body = self.transport.request("GET", "/apis", verb="get", resource="apigroups")
        except CrdMissing as exc:  # NB: every API server serves /apis; a 404 there is some other web server
            raise UnexpectedResponse(
                f"{self.transport.api_client.configuration.host} answered 404 to GET /apis: it is not a "
                "Kubernetes API server; check the kubeconfig's server address.",
                status=404,
            ) from exc
        return [
            ApiGroup(
                g["name"],
                tuple(v["version"] for v in g.get("versions", ())),
                (g.get("preferredVersion") or {}).get("version", ""),
            )
            for g in body.get("groups", ())
        ]

    def resources(self, *, group: str, version: str) -> list[ResourceType]:
        """Top-level resources of one group/version; empty when it is not served."""
        try:
            body = self.transport.request("GET", _prefix(group, version), verb="get", resource=f"{group}/{version}")
        except ClusterError as exc:
            if exc.status == 404:
                return []
            raise
        return [
            ResourceType(group, version, r["kind"], r["name"], bool(r.get("namespaced")))
            for r in body.get("resources", ())
            if "/" not in r["name"]
        ]

    def get(self, *, resource: ResourceType, namespace: str, name: str) -> Object:
        """One object; raises NotFound."""
        result: Object = self.transport.request(
            "GET", _path(resource, namespace, name), verb="get", resource=resource.name
        )
        return result

    def list(self, *, resource: ResourceType, label_selector: str, namespace: str = "") -> list[Object]:
        """Objects matching ``label_selector``, in ``namespace`` or across all namespaces."""
        body = self.transport.request(
            "GET",
            _path(resource, namespace),
            verb="list",
            resource=resource.name,
            query=[("labelSelector", label_selector)],
        )
        items: list[Object] = body.get("items", [])
        for item in items:  # NB: list items omit apiVersion/kind; add them so each item stands alone.
            item.setdefault("apiVersion", resource.api_version)
            item.setdefault("kind", resource.kind)
        return items

    def apply(self, *, resource: ResourceType, manifest: Object, dry_run: bool = False, force: bool = False) -> Object:
        """Server-side apply as ``egress-console``; returns the object the server stored (or would)."""
        meta = manifest["metadata"]
        query = [("fieldManager", FIELD_MANAGER), *_flags(dry_run=dry_run, force=force)]
        result: Object = self.transport.request(
            "PATCH",
            _path(resource, meta.get("namespace", ""), meta["name"]),
            verb="patch",
            resource=resource.name,
            query=query,
            body=manifest,
            content_type=APPLY_PATCH,
        )
        return result

    def delete(
        self, *, resource: ResourceType, namespace: str, name: str, resource_version: str = "", dry_run: bool = False
    ) -> None:
        """Delete one object (only if still at ``resource_version`` when given); raises NotFound."""
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        if dry_run:  # NB: with a body, the server reads DeleteOptions from it and ignores ?dryRun= entirely.
            options["dryRun"] = ["All"]
        self.transport.request(
            "DELETE",
            _path(resource, namespace, name),
            verb="delete",
            resource=resource.name,
            query=list(_flags(dry_run=dry_run, force=False)),
            body=options,
        )


def _flags(*, dry_run: bool, force: bool) -> list[tuple[str, str]]:
    return [("dryRun", "All")] * dry_run + [("force", "true")] * force


def _prefix(group: str, version: str) -> str:
    return f"/apis/{group}/{version}" if group else f"/api/{version}"


def _path(resource: ResourceType, namespace: str, name: str = "") -> str:
    path = _prefix(resource.group, resource.version)
    if resource.namespaced and namespace:
        path += f"/namespaces/{quote(namespace, safe='')}"
    path += f"/{resource.plural}"
    return path + f"/{quote(name, safe='')}" if name else path


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
