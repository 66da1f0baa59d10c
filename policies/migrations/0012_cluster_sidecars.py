"""Every Sidecar a cluster's check lists, kept for simulations with that cluster (Istio applies the outbound
mode and egress hosts per proxy, not per mesh)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('policies', '0011_job_admin_permissions'),
    ]

    operations = [
        migrations.AddField(
            model_name='cluster',
            name='sidecars',
            field=models.JSONField(blank=True, default=dict, help_text="The Sidecars the last check read: state, error, the mesh config's mode and root namespace, items.", verbose_name='Sidecars'),
        ),
    ]
