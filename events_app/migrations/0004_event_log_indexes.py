"""Indexes for every filter of the event log (issue 16): a type of stream and an actor get one each, in position
order; recorded_at loses its own, since a time is found by bisecting positions (events_app.recorders.base)."""

from django.db import migrations, models

import events_app.models


class Migration(migrations.Migration):
    dependencies = [
        ("events_app", "0003_policy_checkpoint"),
    ]

    operations = [
        # Dropping the index by its name rather than altering the field: on SQLite, AlterField copies the whole
        # table into a new one.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(model_name="storedevent", name="recorded_at", field=models.DateTimeField()),
            ],
            database_operations=[
                migrations.RunSQL(
                    "DROP INDEX chorus_event_recorded_at_7100b021",
                    "CREATE INDEX chorus_event_recorded_at_7100b021 ON chorus_event (recorded_at)",
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="storedevent",
            index=models.Index(fields=["stream_type"], name="event_stream_type"),
        ),
        migrations.AddIndex(
            model_name="storedevent",
            index=models.Index(events_app.models.MetadataText("actor"), name="event_actor"),
        ),
    ]
