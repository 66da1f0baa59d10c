"""Every role may see where a review's revision was applied (the deployments 0006 added)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = ["viewer", "editor", "approver", "operator", "admin"]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("policies")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.get(content_type__app_label="policies", codename="view_deployment")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
        group.permissions.add(view)


def revoke(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    view = Permission.objects.filter(content_type__app_label="policies", codename="view_deployment").first()
    if view is not None:
        for group in apps.get_model("auth", "Group").objects.filter(name__in=ROLES):
            group.permissions.remove(view)


class Migration(migrations.Migration):
    dependencies = [("policies", "0006_review_deployments")]

    operations = [migrations.RunPython(grant, revoke)]
