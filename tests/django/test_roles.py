"""Roles: the groups the data migration creates, and the demo users `make run` gives a newcomer."""

from __future__ import annotations

import io
import re

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command

from policies.core.review import ROLE_PERMISSIONS, Role

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("role", list(Role))
def test_each_role_is_a_group_holding_exactly_the_core_tables_permissions(role: Role) -> None:
    group = Group.objects.get(name=role.value)
    held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.select_related("content_type")}
    assert held == set(ROLE_PERMISSIONS[role])


def test_seed_demo_creates_one_user_per_role_and_prints_each_password_once() -> None:
    out = io.StringIO()
    call_command("seed_demo", "--password", "admin-pass-123", stdout=out)
    printed = dict(re.findall(r"Demo (\w+) user: \w+  password: (\S+)", out.getvalue()))
    assert sorted(printed) == ["approver", "editor", "operator", "viewer"]
    for role, password in printed.items():
        user = authenticate(username=role, password=password)
        assert user is not None
        assert [g.name for g in user.groups.all()] == [role]
    admin = get_user_model().objects.get(username="admin")
    assert [g.name for g in admin.groups.all()] == ["admin"]
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert "Demo" not in again.getvalue()
    assert get_user_model().objects.count() == 5
