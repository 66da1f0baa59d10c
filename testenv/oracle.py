"""Istio's own config generator as a test oracle: build and run the harness in ``istio/``.

The harness (Go, built from the ``istio.io/istio`` module by ``istio/build.sh``) runs pilot's
config generation for a client sidecar and the egress gateway over a set of Istio objects, walks
each request through ``pilot/pkg/simulation`` and reports the chain and the outcome. This module
turns Egress Console's inputs (Istio objects as dicts, the gateway, requests) into its job file
and its answer back into plain dicts. Standard library only: it is test tooling.

    oracle = IstioOracle.build()
    answers = oracle.run([World("s1", objects, requests=[OracleRequest("mytest", {"app": "a"}, "http://x.org/")])])
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
BUILD_SCRIPT = HERE / "istio" / "build.sh"
GATEWAY_POD_IP = "10.0.0.100"
EXTERNAL_ADDRESS = "203.0.113.7"


# The spec's §5 model: every namespace runs an HTTP service ``web`` on port 80 (visible to all, as
# Services are), so every sidecar has an HTTP listener there: a plain-HTTP request for an unknown
# host gets block_all's 502. Under a Sidecar, the listener stays while it imports one of them.
def model_http_service(namespace: str, index: int) -> str:
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": namespace},
            "spec": {"clusterIP": f"10.96.1.{index + 1}", "ports": [{"name": "http", "port": 80, "targetPort": 8080}]},
        }
    )


@dataclass(frozen=True)
class GatewaySpec:
    """The egress gateway: Service name/namespace, pod labels and ports ``(number, protocol)``."""

    name: str = "egressgateway"
    namespace: str = "istio-system"
    labels: tuple[tuple[str, str], ...] = (("istio", "egressgateway"),)
    ports: tuple[tuple[int, str], ...] = ((80, "HTTP"), (443, "HTTPS"), (444, "HTTPS"))

    @property
    def service_host(self) -> str:
        return f"{self.name}.{self.namespace}.svc.cluster.local"


@dataclass(frozen=True)
class OracleRequest:
    """What an application in ``namespace`` with ``labels`` sends: a URL (http or https) and a method."""

    namespace: str
    labels: dict[str, str]
    url: str
    method: str = "GET"
    service_account: str = "default"


@dataclass
class World:
    """One mesh: Istio objects, its gateway and outbound mode, and the requests to walk."""

    id: str
    objects: list[dict[str, Any]]
    requests: list[OracleRequest] = field(default_factory=list)
    gateway: GatewaySpec = field(default_factory=GatewaySpec)
    mesh_mode: str = "REGISTRY_ONLY"


class HarnessError(RuntimeError):
    """The harness could not run a job."""


class IstioOracle:
    """The built harness and istioctl binaries."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.harness = bin_dir / "istio-harness"
        self.istioctl = bin_dir / "istioctl"

    @classmethod
    def build(cls) -> IstioOracle:
        """Build once (cached outside the repo by the hash of go.sum and the sources) and return it."""
        done = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise HarnessError(f"building the Istio harness failed:\n{done.stderr[-4000:]}")
        return cls(Path(done.stdout.strip().splitlines()[-1]))

    def run(self, worlds: list[World], timeout: float = 1800) -> list[dict[str, Any]]:
        """Walk every world's requests; one answer per world, in order."""
        with tempfile.TemporaryDirectory(prefix="egress-oracle-") as tmp:
            job, answer = Path(tmp) / "in.json", Path(tmp) / "out.json"
            job.write_text(json.dumps({"worlds": [world_job(w) for w in worlds]}), encoding="utf-8")
            env = {**os.environ, "HARNESS_INPUT": str(job), "HARNESS_OUTPUT": str(answer)}
            done = subprocess.run(
                [str(self.harness), "-test.run", "^TestHarness$", "-test.count", "1"],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp,
                timeout=timeout,
                check=False,
            )
            if not answer.exists():
                raise HarnessError(f"the harness wrote no answer (exit {done.returncode}):\n{done.stdout[-6000:]}")
            worlds_out = json.loads(answer.read_text(encoding="utf-8"))["worlds"]
        for out in worlds_out:
            if out.get("error"):
                log = done.stdout[-6000:]
                raise HarnessError(f"world {out['id']}: {out['error']}\n{log}")
        return [_with_upstream_urls(out) for out in worlds_out]

    def istioctl_run(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """Run istioctl offline (no cluster) with ``args``."""
        env = {**os.environ, "KUBECONFIG": os.devnull}
        return subprocess.run(
            [str(self.istioctl), *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
        )


def world_job(world: World) -> dict[str, Any]:
    """The harness's JSON for one world."""
    gateway = world.gateway
    labels = dict(gateway.labels)
    namespaces = {"default", gateway.namespace}
    namespaces |= {o.get("metadata", {}).get("namespace", "default") for o in world.objects}
    namespaces |= {r.namespace for r in world.requests}
    requests = []
    for index, request in enumerate(world.requests):
        url = urlsplit(request.url)
        port = url.port or (443 if url.scheme == "https" else 80)
        path = url.path or "/"
        if url.query:
            path += "?" + url.query
        requests.append(
            {
                "id": str(index),
                "source": {
                    "namespace": request.namespace,
                    "labels": request.labels,
                    "ip": f"10.1.{index // 250}.{index % 250 + 1}",
                    "serviceAccount": request.service_account,
                },
                "scheme": url.scheme,
                "host": (url.hostname or "").lower(),
                "port": port,
                "path": path,
                "method": request.method,
                "address": EXTERNAL_ADDRESS,
            }
        )
    return {
        "id": world.id,
        "config": _yaml_stream(world.objects),
        "kube": _kube_objects(gateway, labels, sorted(namespaces)),
        "meshMode": world.mesh_mode,
        "gateway": {
            "service": gateway.service_host,
            "targetPorts": {str(number): number for number, _ in gateway.ports},
            "pod": {"namespace": gateway.namespace, "labels": labels, "ip": GATEWAY_POD_IP, "serviceAccount": "gw"},
        },
        "requests": requests,
    }


def _yaml_stream(objects: list[dict[str, Any]]) -> str:
    # NB: JSON is YAML; one document per object keeps the harness free of our dumper's quirks.
    return "\n---\n".join(json.dumps(obj) for obj in objects)


def _kube_objects(gateway: GatewaySpec, labels: dict[str, str], namespaces: list[str]) -> str:
    docs = [
        json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": {}}})
        for ns in namespaces
    ]
    ports = [
        {"name": f"{protocol.lower()}-{number}", "port": number, "targetPort": number, "protocol": "TCP"}
        for number, protocol in gateway.ports
    ]
    docs.append(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": gateway.name, "namespace": gateway.namespace, "labels": labels},
                "spec": {"selector": labels, "ports": ports, "clusterIP": "10.96.0.100"},
            }
        )
    )
    pod_labels = {**labels, "security.istio.io/tlsMode": "istio"}
    docs.append(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": f"{gateway.name}-0", "namespace": gateway.namespace, "labels": pod_labels},
                "spec": {"serviceAccountName": "gw", "containers": [{"name": "istio-proxy", "image": "proxyv2"}]},
                "status": {
                    "podIP": GATEWAY_POD_IP,
                    "phase": "Running",
                    "conditions": [{"type": "Ready", "status": "True"}],
                },
            }
        )
    )
    docs.extend(model_http_service(ns, i) for i, ns in enumerate(namespaces))
    return "\n---\n".join(docs)


def _with_upstream_urls(out: dict[str, Any]) -> dict[str, Any]:
    """Each result gains ``upstreamUrl``: ``scheme://host:port/path``, the simulator's ``upstream`` form."""
    for result in out["results"]:
        up = result.get("upstream")
        result["upstreamUrl"] = f"{up['scheme']}://{up['host']}:{up['port']}{up['path']}" if up else None
    return out
