from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0005_delivery_held"),
    ]

    operations = [
        migrations.AddField(
            model_name="session",
            name="limit_text",
            field=models.CharField(blank=True, default="", max_length=300),
        ),
        migrations.AddField(model_name="session", name="limit_until", field=models.DateTimeField(null=True)),
        migrations.AddField(model_name="session", name="resume_at", field=models.DateTimeField(null=True)),
        migrations.AddField(
            model_name="session",
            name="resume_text",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.AddField(
            model_name="session",
            name="conversation",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
    ]
