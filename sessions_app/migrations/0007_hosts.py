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
    ]
