"""Load the seed's demo data: its egress gateway, its example policy, an admin user and one user per role."""

import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from policies import clusters, services
from policies.core.review import Role
from policies.core.yamlio import load_one
from policies.models import Cluster, EgressGateway, EgressPolicy, GatewayPortRecord
from policies.seed import seed_text

SEED_PORTS = (("http-80", 80, "HTTP"), ("https-443", 443, "HTTPS"), ("https-444", 444, "HTTPS"))


class Command(BaseCommand):
    help = (
        "Create the seed's egress gateway (HTTP 80, HTTPS 443, HTTPS 444), its policy, an admin user and one "
        "demo user per role (viewer, editor, approver, operator)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")
        parser.add_argument("--password", default=None, help="Default: a random password, printed once.")

    def handle(self, *args, **options):
        with transaction.atomic():
            gateway = ensure_seed_gateway()
            user, password = self._admin(options["username"], options["password"])
        if not EgressPolicy.objects.filter(gateway=gateway).exists():
            document = load_one(seed_text("scenario-2")).data
            services.create_policy(document, user=user, message="Seed scenario 2: HTTP with upgrade + HTTPS via 444")
            self.stdout.write("Created policy egress-by-egressgateway (seed scenario 2).")
        if password:
            self.stdout.write(self.style.SUCCESS(f"Admin user: {user.username}  password: {password}"))
        else:
            self.stdout.write(f"Admin user {user.username} already exists (password unchanged).")
        for role, role_password in ensure_role_users(user):
            if role_password:
                self.stdout.write(self.style.SUCCESS(f"Demo {role} user: {role}  password: {role_password}"))
        if ensure_testenv_cluster(user):
            self.stdout.write(f"Registered cluster {TESTENV_CLUSTER} (.testenv/kubeconfig, context admin).")

    def _admin(self, username, password):
        user_model = get_user_model()
        user = user_model.objects.filter(username=username).first()
        if user is not None and password is None:
            return user, None
        password = password or secrets.token_urlsafe(12)
        if user is None:
            user = user_model.objects.create_superuser(username=username, email="", password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        return user, password


def ensure_seed_gateway(name: str = "egressgateway") -> EgressGateway:
    """The seed's gateway, created if missing."""
    gateway, created = EgressGateway.objects.get_or_create(
        name=name, defaults={"namespace": "istio-system", "mtls": True, "description": "Seed egress gateway"}
    )
    if created:
        GatewayPortRecord.objects.bulk_create(
            GatewayPortRecord(gateway=gateway, name=n, number=num, protocol=proto) for n, num, proto in SEED_PORTS
        )
    return gateway


def ensure_role_users(admin: Any) -> list[tuple[str, str | None]]:
    """One demo user per role (username = role), in that role's group; the admin joins the admin group.

    Returns (role, password) pairs; the password is None for users that already existed (unchanged).
    """
    user_model = get_user_model()
    created = []
    with transaction.atomic():
        Group.objects.get(name=Role.ADMIN.value).user_set.add(admin)
        for role in (Role.VIEWER, Role.EDITOR, Role.APPROVER, Role.OPERATOR):
            user = user_model.objects.filter(username=role.value).first()
            password = None
            if user is None:
                password = secrets.token_urlsafe(12)
                user = user_model.objects.create_user(username=role.value, password=password, is_staff=True)
            Group.objects.get(name=role.value).user_set.add(user)
            created.append((role.value, password))
    return created


TESTENV_CLUSTER = "testenv"


def ensure_testenv_cluster(admin: Any) -> bool:
    """Register ``make testenv``'s control plane as cluster ``testenv`` when its kubeconfig exists; True if new.

    So that a newcomer who ran ``make testenv`` finds a cluster to check and apply to; the file is the one
    ``make testenv`` writes inside the repository.
    """
    kubeconfig = Path(settings.BASE_DIR) / ".testenv" / "kubeconfig"
    if not kubeconfig.is_file() or Cluster.objects.filter(name=TESTENV_CLUSTER).exists():
        return False
    cluster = Cluster(name=TESTENV_CLUSTER, kubeconfig_path=str(kubeconfig), context="admin")
    cluster.description = "make testenv's kube-apiserver + etcd on 127.0.0.1"
    clusters.save_cluster(cluster, user=admin, created=True)
    return True
