"""The console's roles as Django groups (viewer, editor, approver, operator, admin) with their permissions.

Permissions are created first: Django creates them only after all migrations ran, and a fresh
database reaches this migration before that.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# NB: a frozen copy of policies.core.review.ROLE_PERMISSIONS as of this migration; a later change
# of the table needs a migration of its own (tests/django/test_roles.py compares the two).
ROLE_PERMISSIONS = {
    "viewer": ["view"],
    "editor": ["view", "edit"],
    "approver": ["view", "approve"],
    "operator": ["view", "operate"],
    "admin": ["view", "edit", "approve", "operate", "admin"],
}
SETS = {
    "view": [
        "policies.view_egressgateway",
        "policies.view_egresspolicy",
        "policies.view_policyrevision",
        "policies.view_review",
        "policies.view_approval",
        "policies.view_auditentry",
        "policies.view_cluster",
    ],
    "edit": [
        "policies.add_egresspolicy",
        "policies.change_egresspolicy",
        "policies.delete_egresspolicy",
        "policies.view_policydraft",
        "policies.change_policydraft",
        "policies.submit_review",
        "policies.withdraw_review",
    ],
    "approve": ["policies.approve_review", "policies.change_review"],
    "operate": ["policies.apply_review", "policies.view_applyrecord"],
    "admin": [
        "policies.withdraw_any_review",
        *(f"policies.{verb}_{model}" for verb in ("add", "change", "delete") for model in ("egressgateway", "cluster")),
        *(f"auth.{verb}_{model}" for verb in ("view", "add", "change", "delete") for model in ("user", "group")),
    ],
}


def role_permissions():
    return {role: sorted({name for key in keys for name in SETS[key]}) for role, keys in ROLE_PERMISSIONS.items()}


def create_roles(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, names in role_permissions().items():
        group, _ = Group.objects.get_or_create(name=role)
        permissions = []
        for name in names:
            app_label, codename = name.split(".", 1)
            permissions.append(Permission.objects.get(content_type__app_label=app_label, codename=codename))
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(ROLE_PERMISSIONS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0004_review_workflow"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
