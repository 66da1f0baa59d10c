"""``egress cluster list|check NAME`` through the fake cluster (and a closed port for the unreachable case)."""

from __future__ import annotations

import pytest

from policies.models import Cluster
from tests.fixtures.cli import egress
from tests.fixtures.clusters import kubeconfig_text, no_secret_in, set_outbound_mode

pytestmark = pytest.mark.django_db


def test_list_shows_every_cluster_and_its_last_check(stored_cluster):
    Cluster.objects.create(name="here", in_cluster=True)
    code, out, _ = egress("cluster", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "REACHABLE", "TARGETS", "OUTBOUND", "MODE", "SOURCE", "CHECKED"]
    assert [line.split()[0] for line in lines[1:]] == ["here", "prod"]
    assert lines[2].split()[1:] == ["-", "-", "-", "-", "never"]


def test_check_stores_and_prints_the_mode_and_warns_under_allow_any(stored_cluster, fake_cluster):
    set_outbound_mode(fake_cluster, "ALLOW_ANY")
    code, out, err = egress("cluster", "check", "prod")
    assert code == 0
    assert out.splitlines()[1].split()[:5] == ["prod", "yes", "istio", "ALLOW_ANY", "mesh-config"]
    assert "the mesh is in ALLOW_ANY mode" in err
    assert Cluster.objects.get(name="prod").outbound_mode == "ALLOW_ANY"


def test_check_of_an_unreachable_cluster_exits_1_with_its_code(tmp_path):
    path = tmp_path / "kubeconfig"
    path.write_text(kubeconfig_text(server="https://127.0.0.1:9"))
    Cluster.objects.create(name="dead", kubeconfig_path=str(path), context="prod")
    code, out, err = egress("cluster", "check", "dead")
    assert code == 1
    assert "no (CLUSTER-E001)" in out
    assert "egress cluster: error CLUSTER-E001:" in err
    assert no_secret_in(out, err)


@pytest.mark.parametrize(
    ("args", "message"),
    [(("check",), "needs the NAME"), (("check", "nope"), "no stored cluster named 'nope'"), (("list", "x"), "no NAME")],
)
def test_usage_errors_exit_2(args, message):
    code, _, err = egress("cluster", *args)
    assert code == 2
    assert message in err
