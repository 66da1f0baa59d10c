"""Observed egress flows aggregated from access logs and the uploads that fed them (issue 13); every role
reads them, editors and admins upload and propose, admins delete."""

import django.db.models.deletion
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

# NB: a frozen copy of policies.core.review.ROLE_PERMISSIONS' holders of each new permission.
GRANTS = {
    "view_observedflow": ["viewer", "editor", "approver", "operator", "admin"],
    "view_observationupload": ["viewer", "editor", "approver", "operator", "admin"],
    "add_observedflow": ["editor", "admin"],
    "delete_observedflow": ["admin"],
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
    Permission.objects.filter(content_type__app_label="policies", codename__in=list(GRANTS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0009_cluster_checks"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ObservationUpload",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="uploaded")),
                (
                    "inputs",
                    models.JSONField(default=list, help_text="Name and size of each log read.", verbose_name="inputs"),
                ),
                (
                    "pod_source",
                    models.CharField(
                        choices=[
                            ("document", "pod list document"),
                            ("cluster", "registered cluster"),
                            ("namespace", "namespace and labels"),
                        ],
                        max_length=10,
                        verbose_name="pods from",
                    ),
                ),
                ("summary", models.JSONField(default=dict, verbose_name="summary")),
                (
                    "refused_lines",
                    models.JSONField(
                        default=list,
                        help_text="The first refused lines: input, line number, code, reason.",
                        verbose_name="refused lines",
                    ),
                ),
                (
                    "cluster",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="observation_uploads",
                        to="policies.cluster",
                    ),
                ),
                (
                    "gateway",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="observation_uploads",
                        to="policies.egressgateway",
                    ),
                ),
                (
                    "uploaded_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "observation upload",
                "verbose_name_plural": "observation uploads",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="ObservedFlow",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key_hash", models.CharField(max_length=64, unique=True, verbose_name="flow key")),
                ("source_namespace", models.CharField(max_length=63, verbose_name="source namespace")),
                ("source_labels", models.JSONField(default=dict, verbose_name="source labels")),
                ("source_label", models.TextField(verbose_name="source")),
                ("host", models.CharField(max_length=255, verbose_name="host")),
                ("port", models.PositiveIntegerField(verbose_name="port")),
                ("protocol", models.CharField(max_length=8, verbose_name="protocol")),
                ("count", models.PositiveBigIntegerField(default=0, verbose_name="lines")),
                (
                    "reached",
                    models.PositiveBigIntegerField(default=0, verbose_name="lines that reached the destination"),
                ),
                ("first_seen", models.DateTimeField(verbose_name="first seen")),
                ("last_seen", models.DateTimeField(verbose_name="last seen")),
                ("outcomes", models.JSONField(default=dict, verbose_name="outcomes")),
                ("clusters", models.JSONField(default=dict, verbose_name="upstream clusters")),
                ("cluster_kinds", models.JSONField(default=dict, verbose_name="upstream cluster kinds")),
                ("updated_at", models.DateTimeField(verbose_name="last ingested")),
                (
                    "cluster",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="policies.cluster",
                    ),
                ),
                (
                    "gateway",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="observed_flows",
                        to="policies.egressgateway",
                    ),
                ),
                (
                    "last_upload",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="policies.observationupload",
                    ),
                ),
            ],
            options={
                "verbose_name": "observed flow",
                "verbose_name_plural": "observed flows",
                "ordering": ["gateway", "source_namespace", "source_label", "host", "port", "protocol"],
                "indexes": [
                    models.Index(fields=["gateway", "source_namespace"], name="observedflow_gateway_ns"),
                    models.Index(fields=["gateway", "host"], name="observedflow_gateway_host"),
                    models.Index(fields=["updated_at"], name="observedflow_updated"),
                ],
            },
        ),
        migrations.RunPython(grant, revoke),
    ]
