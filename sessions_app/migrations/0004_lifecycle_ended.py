"""A session that ended by itself is `ended`, no longer `stopped` (the status word): one vocabulary. The rows are
what the projector writes now, so a database from before needs no rebuild."""

from django.db import migrations


def ended(apps, schema_editor):
    apps.get_model("sessions_app", "Session").objects.filter(lifecycle="stopped").update(lifecycle="ended")


def stopped(apps, schema_editor):
    apps.get_model("sessions_app", "Session").objects.filter(lifecycle="ended").update(lifecycle="stopped")


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0003_agent_tools")]

    operations = [migrations.RunPython(ended, stopped)]
