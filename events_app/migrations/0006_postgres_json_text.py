"""On PostgreSQL the event table keeps each event's JSON as written (`json`, not Django's `jsonb`, which reorders
keys and spacing): the hash chain covers that text, so it verifies the same as on SQLite and a copied log keeps its
hashes. SQLite stores JSON as text already: nothing to do there."""

from django.db import migrations

COLUMNS = ("data", "metadata")


def _alter(schema_editor, kind: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"ALTER TABLE chorus_event ALTER COLUMN {column} TYPE {kind} USING {column}::{kind}")


def to_json(apps, schema_editor):
    _alter(schema_editor, "json")


def to_jsonb(apps, schema_editor):
    _alter(schema_editor, "jsonb")


class Migration(migrations.Migration):
    dependencies = [
        ("events_app", "0005_event_hash_binary"),
    ]

    operations = [migrations.RunPython(to_json, to_jsonb)]
