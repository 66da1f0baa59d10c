"""Reserved for observed egress flows aggregated from access logs (issue 13); filled in by the change that adds those models."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("policies", "0009_cluster_checks")]

    operations: list[migrations.operations.base.Operation] = []
