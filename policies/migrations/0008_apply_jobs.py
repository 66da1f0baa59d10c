"""Apply jobs (issue 11, item 5: per cluster, per object, one active apply per policy and cluster) and
webhook deliveries (item 10)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0007_roles_view_deployments"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("event", models.JSONField(verbose_name="event")),
                (
                    "state",
                    models.CharField(
                        choices=[("pending", "pending"), ("delivered", "delivered"), ("abandoned", "abandoned")],
                        default="pending",
                        max_length=10,
                        verbose_name="state",
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True, verbose_name="next attempt")),
                ("last_error", models.CharField(blank=True, max_length=500, verbose_name="last error")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("delivered_at", models.DateTimeField(blank=True, null=True, verbose_name="delivered")),
            ],
            options={
                "verbose_name": "webhook delivery",
                "verbose_name_plural": "webhook deliveries",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="ApplyJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("content_hash", models.CharField(max_length=64, verbose_name="revision hash")),
                (
                    "target",
                    models.CharField(
                        choices=[("asm", "asm"), ("istio", "istio")], max_length=10, verbose_name="target"
                    ),
                ),
                ("dry_run", models.BooleanField(default=False, verbose_name="dry run")),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("queued", "queued"),
                            ("running", "running"),
                            ("succeeded", "succeeded"),
                            ("failed", "failed"),
                        ],
                        default="queued",
                        max_length=10,
                        verbose_name="state",
                    ),
                ),
                ("request_id", models.CharField(blank=True, max_length=64, verbose_name="request id")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="started")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished")),
                (
                    "review",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="apply_jobs", to="policies.review"
                    ),
                ),
                (
                    "revision",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="policies.policyrevision"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "apply job",
                "verbose_name_plural": "apply jobs",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="ApplyJobCluster",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("dry_run", models.BooleanField(default=False)),
                (
                    "state",
                    models.CharField(
                        choices=[
                            ("queued", "queued"),
                            ("running", "running"),
                            ("succeeded", "succeeded"),
                            ("failed", "failed"),
                        ],
                        default="queued",
                        max_length=10,
                        verbose_name="state",
                    ),
                ),
                ("error_code", models.CharField(blank=True, max_length=64, verbose_name="error code")),
                ("error_message", models.TextField(blank=True, verbose_name="error")),
                ("started_at", models.DateTimeField(blank=True, null=True, verbose_name="started")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated")),
                (
                    "cluster",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="policies.cluster"
                    ),
                ),
                (
                    "job",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="clusters", to="policies.applyjob"
                    ),
                ),
                (
                    "policy",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="policies.egresspolicy"
                    ),
                ),
            ],
            options={
                "verbose_name": "apply job cluster",
                "verbose_name_plural": "apply job clusters",
                "ordering": ["job", "cluster__name"],
            },
        ),
        migrations.CreateModel(
            name="ApplyJobObject",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("position", models.PositiveIntegerField(verbose_name="position")),
                ("kind", models.CharField(max_length=63, verbose_name="kind")),
                ("namespace", models.CharField(blank=True, max_length=63, verbose_name="namespace")),
                ("name", models.CharField(max_length=253, verbose_name="name")),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("pending", "pending"),
                            ("created", "created"),
                            ("configured", "configured"),
                            ("unchanged", "unchanged"),
                            ("pruned", "pruned"),
                            ("failed", "failed"),
                            ("skipped", "skipped"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="outcome",
                    ),
                ),
                ("error_code", models.CharField(blank=True, max_length=64, verbose_name="error code")),
                ("message", models.TextField(blank=True, verbose_name="message")),
                ("changes", models.JSONField(blank=True, default=list, verbose_name="changes")),
                (
                    "job_cluster",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="items", to="policies.applyjobcluster"
                    ),
                ),
            ],
            options={
                "verbose_name": "apply job object",
                "verbose_name_plural": "apply job objects",
                "ordering": ["job_cluster", "position"],
            },
        ),
        migrations.AddConstraint(
            model_name="applyjobcluster",
            constraint=models.UniqueConstraint(fields=("job", "cluster"), name="one_row_per_job_cluster"),
        ),
        migrations.AddConstraint(
            model_name="applyjobcluster",
            constraint=models.UniqueConstraint(
                condition=models.Q(("dry_run", False), ("state__in", ("queued", "running"))),
                fields=("policy", "cluster"),
                name="one_active_apply_per_policy_cluster",
                violation_error_message="Another apply of this policy to this cluster is running.",
            ),
        ),
        migrations.AddConstraint(
            model_name="applyjobobject",
            constraint=models.UniqueConstraint(
                fields=("job_cluster", "kind", "namespace", "name"), name="one_row_per_job_cluster_object"
            ),
        ),
    ]
