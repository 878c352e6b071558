"""The chain's hash as its 32 bytes instead of 64 hex characters (issue 16: 32 bytes less per event). What is hashed
does not change (the previous hash as hex text, then the row's canonical fields), so the chain verifies as before."""

from django.db import migrations, models

BATCH = 10_000


def _as_bytes(stored) -> bytes | None:
    """The hash as 32 bytes, from the hex text of before (SQLite keeps the copied text; PostgreSQL's cast to bytea
    keeps the text's 64 bytes), or None when it is converted already."""
    if isinstance(stored, str):
        return bytes.fromhex(stored)
    stored = bytes(stored)
    return bytes.fromhex(stored.decode("ascii")) if len(stored) == 64 else None


def to_bytes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        after = 0
        while True:
            cursor.execute(
                "SELECT position, hash FROM chorus_event WHERE position > %s ORDER BY position LIMIT %s", [after, BATCH]
            )
            rows = cursor.fetchall()
            if not rows:
                return
            changed = [(value, position) for position, stored in rows if (value := _as_bytes(stored)) is not None]
            cursor.executemany("UPDATE chorus_event SET hash = %s WHERE position = %s", changed)
            after = rows[-1][0]


def to_text(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT position, hash FROM chorus_event")
        rows = [(bytes(stored).hex(), position) for position, stored in cursor.fetchall()]
        cursor.executemany("UPDATE chorus_event SET hash = %s WHERE position = %s", rows)


class Migration(migrations.Migration):
    dependencies = [
        ("events_app", "0004_event_log_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="storedevent",
            name="hash",
            field=models.BinaryField(max_length=32),
        ),
        migrations.RunPython(to_bytes, to_text),
    ]
