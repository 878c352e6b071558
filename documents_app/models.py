"""The documents read model (written only by documents_app.projectors) and the scanner's file cache."""

from __future__ import annotations

from django.db import models

KINDS = {"md": "markdown", "markdown": "markdown", "rst": "restructuredtext"}


class Document(models.Model):
    """One document under PROJECT_ROOT as of its last recorded content."""

    path = models.CharField(max_length=200, primary_key=True)
    title = models.CharField(max_length=200, blank=True)
    line_count = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    added_at = models.DateTimeField()
    changed_at = models.DateTimeField()
    version = models.PositiveIntegerField()
    # the host whose copy this content is (its scan or watcher recorded it; "" before hosts: this one's)
    host = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        db_table = "chorus_document"
        ordering = ["path"]

    def __str__(self) -> str:
        return self.path

    @property
    def kind(self) -> str:
        name = self.path.rsplit("/", 1)[-1]
        return KINDS.get(name.rsplit(".", 1)[-1].lower(), "text") if "." in name else "text"


class ScannedFile(models.Model):
    """Not a read model: the scanner's memory of what a file held when it last had this stat, so an unchanged
    file is neither read nor hashed again (like git's index). Written by the scanner, never derived from events,
    so rebuilds leave it alone; emptying it costs one more read of every file. `skipped` is why the file is not a
    document (binary), empty for a document. Each host remembers its own checkout (`host`)."""

    host = models.CharField(max_length=100)
    path = models.CharField(max_length=200)
    size = models.PositiveBigIntegerField()
    mtime_ns = models.BigIntegerField()
    ctime_ns = models.BigIntegerField()
    inode = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    line_count = models.PositiveIntegerField()
    title = models.CharField(max_length=200, blank=True)
    skipped = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "chorus_document_scan"
        constraints = [models.UniqueConstraint(fields=["host", "path"], name="chorus_document_scan_host_path")]

    def __str__(self) -> str:
        return self.path
