"""The event table (the only source of truth) and the checkpoints of projectors and worker policies."""

from __future__ import annotations

from django.db import models


class MetadataText(models.Func):
    """A member of an event's metadata as text (`metadata ->> 'actor'`), for an index on it: the same
    expression in PostgreSQL and SQLite (3.38 on), and the one the recorder filters with (Recorder.ACTOR)."""

    template = "(%(expressions)s ->> '%(key)s')"
    output_field = models.TextField()

    def __init__(self, key: str, **extra):
        if not key.isidentifier():
            raise ValueError(f"not a metadata key: {key!r}")
        super().__init__(models.F("metadata"), key=key, **extra)


class EventPosition(models.BigAutoField):
    """The log's global position, SQLite's rowid, without AUTOINCREMENT.

    The store always gives the position itself (the last one + 1, under the write lock), so AUTOINCREMENT's
    promise (a rowid is never reused) is never used, while its bookkeeping row costs a page write per append.
    """

    def db_type_suffix(self, connection):
        return None


class StoredEvent(models.Model):
    """One domain event. Written only by the recorder (`events_app.store.append`); never updated or deleted."""

    position = EventPosition(primary_key=True)
    stream_type = models.CharField(max_length=64)
    stream_id = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    event_type = models.CharField(max_length=100, db_index=True)
    schema_version = models.PositiveSmallIntegerField(default=1)
    data = models.JSONField()
    metadata = models.JSONField(default=dict)
    # No index: recorded_at never decreases along the log, so a time is found by bisecting positions.
    recorded_at = models.DateTimeField()
    # sha256 of the chain (store.chain_hash) as its 32 bytes; the recorder reads and writes it as hex text.
    hash = models.BinaryField(max_length=32)

    class Meta:
        db_table = "chorus_event"
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["stream_type", "stream_id", "version"], name="event_stream_version"),
        ]
        # Each filter of the log reads an index whose entries for one value are in position order (an index
        # holds the row's key): one stream through the unique constraint, a type of stream, an event type, an
        # actor (events_app.recorders.base.Recorder.select).
        indexes = [
            models.Index(fields=["stream_type"], name="event_stream_type"),
            models.Index(MetadataText("actor"), name="event_actor"),
        ]

    def __str__(self) -> str:
        return f"#{self.position} {self.event_type} {self.stream_type}:{self.stream_id} v{self.version}"


class Checkpoint(models.Model):
    """How far a follower of the log has got: the last position it applied, by its name. Written only by the
    recorder (its tracking tables)."""

    name = models.CharField(max_length=255, primary_key=True)
    position = models.BigIntegerField(default=0)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.name} @ {self.position}"


class ProjectorCheckpoint(Checkpoint):
    """The last event position a projector has applied, written in the same transaction as its rows."""

    class Meta:
        db_table = "chorus_projector_checkpoint"


class PolicyCheckpoint(Checkpoint):
    """The last event position a worker policy has handled (events_app.policies.PolicyRunner)."""

    class Meta:
        db_table = "chorus_policy_checkpoint"


class Stream(models.Model):
    """Read model: one row per event stream, its current version and last event."""

    key = models.CharField(max_length=270, primary_key=True)
    stream_type = models.CharField(max_length=64, db_index=True)
    stream_id = models.CharField(max_length=200)
    version = models.PositiveIntegerField()
    last_position = models.BigIntegerField()
    last_event_type = models.CharField(max_length=100)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "chorus_stream"
        ordering = ["stream_type", "stream_id"]

    def __str__(self) -> str:
        return self.key
