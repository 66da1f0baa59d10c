"""What a cluster's connection check found (reachability, targets, versions, the mesh's outbound traffic
mode) and each policy's drift there; operators and admins may run the check (``policies.check_cluster``)."""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

CHECKERS = ["operator", "admin"]  # NB: a frozen copy of policies.core.review.ROLE_PERMISSIONS' holders


def grant_check(apps, schema_editor):
    app_config = apps.get_app_config("policies")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Permission = apps.get_model("auth", "Permission")
    check = Permission.objects.get(content_type__app_label="policies", codename="check_cluster")
    for group in apps.get_model("auth", "Group").objects.filter(name__in=CHECKERS):
        group.permissions.add(check)


def revoke_check(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type__app_label="policies", codename="check_cluster").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0008_apply_jobs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="cluster",
            options={
                "ordering": ["name"],
                "permissions": [("check_cluster", "Can check a cluster's connection and drift")],
                "verbose_name": "cluster",
                "verbose_name_plural": "clusters",
            },
        ),
        migrations.AddField(
            model_name="cluster",
            name="check_error_code",
            field=models.CharField(blank=True, max_length=20, verbose_name="check error code"),
        ),
        migrations.AddField(
            model_name="cluster",
            name="check_error_message",
            field=models.CharField(blank=True, max_length=500, verbose_name="check error message"),
        ),
        migrations.AddField(
            model_name="cluster",
            name="checked_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="last checked"),
        ),
        migrations.AddField(
            model_name="cluster",
            name="checked_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="cluster",
            name="outbound_error_code",
            field=models.CharField(blank=True, max_length=20, verbose_name="outbound mode error code"),
        ),
        migrations.AddField(
            model_name="cluster",
            name="outbound_error_message",
            field=models.CharField(blank=True, max_length=500, verbose_name="outbound mode error message"),
        ),
        migrations.AddField(
            model_name="cluster",
            name="outbound_mode",
            field=models.CharField(
                blank=True,
                choices=[("REGISTRY_ONLY", "REGISTRY_ONLY"), ("ALLOW_ANY", "ALLOW_ANY")],
                max_length=16,
                verbose_name="outbound traffic mode",
            ),
        ),
        migrations.AddField(
            model_name="cluster",
            name="outbound_mode_origin",
            field=models.CharField(blank=True, max_length=320, verbose_name="outbound mode origin"),
        ),
        migrations.AddField(
            model_name="cluster",
            name="outbound_mode_source",
            field=models.CharField(
                blank=True,
                choices=[
                    ("sidecar", "root-namespace Sidecar"),
                    ("mesh-config", "mesh config"),
                    ("istio-default", "Istio's default"),
                    ("none", "no Istio mesh config"),
                ],
                max_length=16,
                verbose_name="outbound mode source",
            ),
        ),
        migrations.AddField(
            model_name="cluster",
            name="reachable",
            field=models.BooleanField(blank=True, null=True, verbose_name="reachable"),
        ),
        migrations.AddField(
            model_name="cluster",
            name="targets",
            field=models.JSONField(blank=True, default=list, help_text="asm and/or istio.", verbose_name="targets"),
        ),
        migrations.AddField(
            model_name="cluster",
            name="versions",
            field=models.JSONField(
                blank=True,
                default=dict,
                help_text="API group → the versions it serves.",
                verbose_name="served versions",
            ),
        ),
        migrations.CreateModel(
            name="ClusterPolicyDrift",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "state",
                    models.CharField(
                        choices=[("in-sync", "in sync"), ("drifted", "drifted"), ("unknown", "unknown")],
                        max_length=10,
                        verbose_name="drift",
                    ),
                ),
                ("drifted_objects", models.JSONField(blank=True, default=list, verbose_name="drifted objects")),
                ("error_code", models.CharField(blank=True, max_length=20, verbose_name="error code")),
                ("error_message", models.CharField(blank=True, max_length=500, verbose_name="error message")),
                ("checked_at", models.DateTimeField(verbose_name="checked")),
                (
                    "cluster",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="drift_checks", to="policies.cluster"
                    ),
                ),
                (
                    "policy",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="drift_checks",
                        to="policies.egresspolicy",
                    ),
                ),
                (
                    "revision",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="policies.policyrevision",
                    ),
                ),
            ],
            options={
                "verbose_name": "cluster policy drift",
                "verbose_name_plural": "cluster policy drifts",
                "ordering": ["cluster__name", "policy__name"],
                "constraints": [
                    models.UniqueConstraint(fields=("cluster", "policy"), name="one_drift_check_per_policy")
                ],
            },
        ),
        migrations.RunPython(grant_check, revoke_check),
    ]
