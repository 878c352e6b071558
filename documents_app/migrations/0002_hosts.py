"""Hosts (issue 13): a document's content names the host whose copy it is, and each host's scanner remembers its own
checkout. The scanner's memory is a cache (emptying it costs one more read of every file), so it is made anew."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("documents_app", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="document",
            name="host",
            field=models.CharField(blank=True, default="", max_length=100),
        ),
        migrations.DeleteModel(name="ScannedFile"),
        migrations.CreateModel(
            name="ScannedFile",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("host", models.CharField(max_length=100)),
                ("path", models.CharField(max_length=200)),
                ("size", models.PositiveBigIntegerField()),
                ("mtime_ns", models.BigIntegerField()),
                ("ctime_ns", models.BigIntegerField()),
                ("inode", models.BigIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("line_count", models.PositiveIntegerField()),
                ("title", models.CharField(blank=True, max_length=200)),
                ("skipped", models.CharField(blank=True, max_length=200)),
            ],
            options={"db_table": "chorus_document_scan"},
        ),
        migrations.AddConstraint(
            model_name="scannedfile",
            constraint=models.UniqueConstraint(fields=("host", "path"), name="chorus_document_scan_host_path"),
        ),
    ]
