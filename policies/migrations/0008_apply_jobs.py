"""Reserved for the apply jobs (issue 11, item 5) and webhook deliveries (item 10); filled in by the change that adds those models."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("policies", "0007_roles_view_deployments")]

    operations: list[migrations.operations.base.Operation] = []
