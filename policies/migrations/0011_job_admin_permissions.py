"""Operators and admins see apply jobs in the Django admin; admins see webhook deliveries and send them again."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

# NB: a frozen copy of policies.core.review.ROLE_PERMISSIONS' holders of each new grant.
GRANTS = {
    "view_applyjob": ["operator", "admin"],
    "view_webhookdelivery": ["admin"],
    "change_webhookdelivery": ["admin"],
}


def grant(apps, schema_editor):
    app_config = apps.get_app_config("policies")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for codename, roles in GRANTS.items():
        permission = Permission.objects.get(content_type__app_label="policies", codename=codename)
        for group in Group.objects.filter(name__in=roles):
            group.permissions.add(permission)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    for codename, roles in GRANTS.items():
        permission = Permission.objects.filter(content_type__app_label="policies", codename=codename).first()
        if permission is not None:
            for group in Group.objects.filter(name__in=roles):
                group.permissions.remove(permission)


class Migration(migrations.Migration):
    dependencies = [("policies", "0010_observations")]

    operations = [migrations.RunPython(grant, revoke)]
