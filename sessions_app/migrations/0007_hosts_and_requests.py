from django.db import migrations, models

import sessions_app.events


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0006_limits"),
    ]

    operations = [
        migrations.AddField(
            model_name="session",
            name="host",
            # the rows already there get what a rebuild gives them: their events predate hosts (see the upcaster)
            field=models.CharField(db_index=True, default=sessions_app.events.this_host, max_length=100),
        ),
        migrations.CreateModel(
            name="WorkerPresence",
            fields=[
                ("host", models.CharField(max_length=100, primary_key=True, serialize=False)),
                ("machine", models.CharField(max_length=255)),
                ("pid", models.IntegerField()),
                ("started_at", models.DateTimeField()),
                ("last_seen", models.DateTimeField()),
                ("stopped", models.BooleanField(default=False)),
            ],
            options={"db_table": "chorus_worker_presence", "ordering": ["host"]},
        ),
        migrations.CreateModel(
            name="SessionRequest",
            fields=[
                ("id", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("kind", models.CharField(max_length=20)),
                ("session", models.CharField(db_index=True, max_length=40)),
                ("host", models.CharField(max_length=100)),
                ("arguments", models.JSONField(default=dict)),
                ("actor", models.CharField(blank=True, max_length=100)),
                ("state", models.CharField(default="pending", max_length=10)),
                ("requested_position", models.BigIntegerField()),
                ("requested_at", models.DateTimeField()),
                ("claimed_position", models.BigIntegerField(null=True)),
                ("finished_at", models.DateTimeField(null=True)),
                ("detail", models.JSONField(default=dict)),
                ("reason", models.CharField(blank=True, max_length=500)),
                ("status", models.PositiveSmallIntegerField(null=True)),
                ("version", models.PositiveIntegerField()),
            ],
            options={
                "db_table": "chorus_session_request",
                "ordering": ["requested_position"],
                "indexes": [models.Index(fields=["host", "state"], name="session_request_host_state")],
            },
        ),
    ]
