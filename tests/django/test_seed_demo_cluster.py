"""``seed_demo`` registers ``make testenv``'s control plane as a cluster when its kubeconfig is there."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from policies.models import AuditEntry, Cluster
from tests.fixtures.clusters import kubeconfig_text

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", "--password", "admin-pass-123", stdout=out)
    return out.getvalue()


def test_the_testenv_kubeconfig_becomes_cluster_testenv_once(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    (tmp_path / ".testenv").mkdir()
    (tmp_path / ".testenv" / "kubeconfig").write_text(kubeconfig_text(contexts=("admin", "alice")))
    assert "Registered cluster testenv (.testenv/kubeconfig, context admin)." in seed()
    cluster = Cluster.objects.get()
    assert (cluster.name, cluster.kubeconfig_path, cluster.context) == (
        "testenv",
        str(tmp_path / ".testenv" / "kubeconfig"),
        "admin",
    )
    assert AuditEntry.objects.filter(action="cluster.register", actor="admin").count() == 1
    assert "Registered cluster" not in seed()
    assert Cluster.objects.count() == 1


def test_without_testenv_no_cluster_is_registered(settings, tmp_path):
    settings.BASE_DIR = tmp_path
    assert "Registered cluster" not in seed()
    assert not Cluster.objects.exists()
