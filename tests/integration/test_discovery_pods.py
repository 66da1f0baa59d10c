"""Discover against the real kube-apiserver: a registered cluster's pods (read-only list) map the
``kubectl logs --prefix`` pod names of an upload to their namespace and stable labels."""

from __future__ import annotations

import pytest

from policies import discovery
from policies.models import Cluster, ObservationUpload, ObservedFlow
from tests.fixtures.accesslogs import http, text_line
from tests.fixtures.cluster import create_namespace
from tests.fixtures.discovery import log_input
from tests.fixtures.reviews import user_in_role

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def create_pod(plane, namespace: str, name: str, labels: dict[str, str]) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"containers": [{"name": "app", "image": "registry.invalid/app:1"}]},
    }
    status, body = plane.request("POST", f"/api/v1/namespaces/{namespace}/pods", pod)
    assert status == 201, body


def test_an_upload_maps_prefixed_lines_through_the_clusters_pods(apply_plane, seed_gateway_record) -> None:
    namespace = create_namespace(apply_plane, "shop")
    create_pod(apply_plane, namespace, "web-7d9c-abcde", {"app": "web", "pod-template-hash": "7d9c"})
    cluster = Cluster.objects.create(name="plane", kubeconfig_path=str(apply_plane.kubeconfig_path), context="admin")
    line = text_line(http("api.github.com", "140.82.1.1"), pod="web-7d9c-abcde")
    unknown = text_line(http("api.github.com", "140.82.1.1"), pod="gone-1")
    result = discovery.ingest(
        seed_gateway_record,
        [log_input(f"{line}\n{unknown}\n".encode(), "shop.log")],
        discovery.SourceSpec(cluster=cluster),
        user=user_in_role("editor"),
    )
    flow = ObservedFlow.objects.get()
    assert (flow.source_namespace, flow.source_labels, flow.cluster) == (namespace, {"app": "web"}, cluster)
    assert [(r["line"], r["code"]) for r in result.upload.refused_lines] == [(2, "EGRESS-LOG08")]
    assert ObservationUpload.objects.get().pod_source == "cluster"


def test_a_user_who_may_not_list_pods_gets_the_clusters_refusal(apply_plane, seed_gateway_record) -> None:
    cluster = Cluster.objects.create(name="alice", kubeconfig_path=str(apply_plane.kubeconfig_path), context="alice")
    with pytest.raises(discovery.ClusterUnavailable) as refused:
        discovery.ingest(
            seed_gateway_record,
            [log_input(b"x\n")],
            discovery.SourceSpec(cluster=cluster),
            user=user_in_role("editor"),
        )
    assert refused.value.code.startswith("CLUSTER-E") and refused.value.path == "cluster"
    assert not ObservationUpload.objects.exists()
