"""Reserved for what a cluster's connection check found (targets, versions, the mesh's outbound traffic mode); filled in by the change that adds those models."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("policies", "0008_apply_jobs")]

    operations: list[migrations.operations.base.Operation] = []
