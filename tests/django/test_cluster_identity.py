"""Issue 12, item 3: a per-process cache never outlives an edit made through another replica.

The cluster discovery cache (capabilities per cluster, five minutes) is kept in each process; its
key names the stored cluster record and the server and context the record points at, so editing
the record (through any replica) makes every process discover the new server afresh.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.cluster.records import connect_cluster
from policies.models import Cluster

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {{server: "{server}"}}
users:
- name: u
  user: {{token: "not-used"}}
contexts:
- name: {context}
  context: {{cluster: c, user: u}}
current-context: {context}
"""


def kubeconfig(folder: Path, name: str, server: str, context: str = "main") -> str:
    path = folder / name
    path.write_text(KUBECONFIG.format(server=server, context=context))
    return str(path)


@pytest.mark.django_db
def test_the_cache_key_follows_the_server_a_cluster_record_points_at(tmp_path: Path) -> None:
    # given a stored cluster pointing at one API server
    cluster = Cluster.objects.create(name="prod", kubeconfig_path=kubeconfig(tmp_path, "a", "https://10.0.0.1:6443"))
    before = connect_cluster(cluster).identity
    # when the record is edited to point at another server, then at another context
    cluster.kubeconfig_path = kubeconfig(tmp_path, "b", "https://10.0.0.2:6443")
    moved = connect_cluster(cluster).identity
    cluster.kubeconfig_path, cluster.context = kubeconfig(tmp_path, "c", "https://10.0.0.2:6443", "other"), "other"
    switched = connect_cluster(cluster).identity
    # then each is a different cache key, each naming the record
    assert before == "cluster:prod:https://10.0.0.1:6443#current-context"
    assert moved == "cluster:prod:https://10.0.0.2:6443#current-context"
    assert switched == "cluster:prod:https://10.0.0.2:6443#other"
