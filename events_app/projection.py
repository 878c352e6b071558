"""Projectors: read models built from events, in the append's transaction, checkpointed and replayable.

A projector names the read models it owns and handles event types with methods marked `@handles(...)`. Handlers
write through a `Rows` unit of work, never with `.save()`: live appends flush it once per append, and a rebuild
flushes it in bulk every few thousand events, which is what makes replay fast.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from django.db import connection, models, transaction

from events_app.domain import DomainEvent
from events_app.models import ProjectorCheckpoint
from events_app.store import RecordedEvent, read

Handler = Callable[[Any, RecordedEvent, "Rows"], None]


def handles(*event_classes: type[DomainEvent]):
    """Mark a projector method as the handler of these event classes."""

    def wrap(func: Handler) -> Handler:
        func._chorus_handles = tuple(event_classes)
        return func

    return wrap


class Projector:
    """Base class. Subclasses set `name`, `models` and decorate handlers; `handles_all` sees every event."""

    name: ClassVar[str] = ""
    models: ClassVar[Sequence[type[models.Model]]] = ()
    handles_all: ClassVar[bool] = False
    _handlers: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        table: dict[str, str] = {}
        for attr in dir(cls):
            for event_cls in getattr(getattr(cls, attr, None), "_chorus_handles", ()):
                table[event_cls.event_type] = attr
        cls._handlers = table

    def wants(self, event_type: str) -> bool:
        return self.handles_all or event_type in self._handlers

    def apply(self, recorded: RecordedEvent, rows: Rows) -> None:
        method = self._handlers.get(recorded.event_type)
        if method:
            getattr(self, method)(recorded, rows)
        elif self.handles_all:
            self.on_any(recorded, rows)

    def on_any(self, recorded: RecordedEvent, rows: Rows) -> None:
        """Called for events without a specific handler when `handles_all` is set."""


class Rows:
    """An identity map with write-behind for read-model rows, keyed by primary key.

    `fresh=True` (rebuild) says the tables started empty and every row written is in the map, so a miss needs
    no query. Call `save` after changing a row and `delete` to remove one; `flush` writes them in bulk.
    """

    def __init__(self, fresh: bool = False):
        self.fresh = fresh
        self._rows: dict[tuple[type[models.Model], Any], models.Model | None] = {}
        self._dirty: dict[tuple[type[models.Model], Any], models.Model] = {}
        self._deleted: dict[type[models.Model], set[Any]] = defaultdict(set)

    def get(self, model: type[models.Model], pk: Any) -> Any:
        key = (model, pk)
        if key in self._rows:
            return self._rows[key]
        row = None if self.fresh else model.objects.filter(pk=pk).first()
        self._rows[key] = row
        return row

    def save(self, row: models.Model) -> None:
        key = (type(row), row.pk)
        self._rows[key] = row
        self._dirty[key] = row
        self._deleted[type(row)].discard(row.pk)

    def delete(self, row: models.Model) -> None:
        key = (type(row), row.pk)
        self._rows[key] = None
        self._dirty.pop(key, None)
        if not row._state.adding:
            self._deleted[type(row)].add(row.pk)

    def filter(self, model: type[models.Model], **lookup: Any) -> list[Any]:
        """Rows matching `lookup`: pending writes are flushed first, then the map's copies are returned."""
        self.flush()
        found = []
        for row in model.objects.filter(**lookup):
            key = (model, row.pk)
            if key not in self._rows:
                self._rows[key] = row
            if self._rows[key] is not None:
                found.append(self._rows[key])
        return found

    def flush(self) -> None:
        for model, pks in self._deleted.items():
            if pks:
                model.objects.filter(pk__in=list(pks)).delete()
        self._deleted.clear()
        new: dict[type[models.Model], list[models.Model]] = defaultdict(list)
        changed: dict[type[models.Model], list[models.Model]] = defaultdict(list)
        for (model, _pk), row in self._dirty.items():
            (new if row._state.adding else changed)[model].append(row)
        self._dirty.clear()
        for model, batch in new.items():
            model.objects.bulk_create(batch, batch_size=500)
            for row in batch:
                row._state.adding = False
        for model, batch in changed.items():
            fields = [f.name for f in model._meta.concrete_fields if not f.primary_key]
            model.objects.bulk_update(batch, fields, batch_size=500)


_projectors: dict[str, Projector] = {}


def register(cls: type[Projector]) -> type[Projector]:
    """Class decorator: make a projector part of every append and rebuild."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    _projectors[cls.name] = cls()
    return cls


def projectors(names: Iterable[str] | None = None) -> list[Projector]:
    if names is None:
        return list(_projectors.values())
    unknown = sorted(set(names) - set(_projectors))
    if unknown:
        raise KeyError(f"unknown projection(s): {', '.join(unknown)}; known: {', '.join(sorted(_projectors))}")
    return [_projectors[n] for n in names]


def _checkpoints() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, position FROM chorus_projector_checkpoint")
        return dict(cursor.fetchall())


def _set_checkpoints(names: Sequence[str], position: int, existing: dict[str, int]) -> None:
    with connection.cursor() as cursor:
        known = [n for n in names if n in existing]
        if known:
            cursor.execute(
                f"UPDATE chorus_projector_checkpoint SET position = %s WHERE name IN ({', '.join(['%s'] * len(known))})",
                [position, *known],
            )
        for name in names:
            if name not in existing:
                cursor.execute(
                    "INSERT INTO chorus_projector_checkpoint (name, position) VALUES (%s, %s)", [name, position]
                )


def project(recorded: Sequence[RecordedEvent]) -> None:
    """Apply freshly appended events to every projector; called by `append` inside its transaction.

    A projector whose checkpoint is behind (a new projector, or one rebuilt to an earlier point) first catches up
    from the table; events at or below a checkpoint are skipped, so applying twice is harmless.
    """
    if not _projectors:
        return
    first, last = recorded[0].position, recorded[-1].position
    checkpoints = _checkpoints()
    rows = Rows()
    for projector in _projectors.values():
        done = checkpoints.get(projector.name, 0)
        if done < first - 1:
            _replay_into(projector, rows, after=done, until=first - 1)
        for item in recorded:
            if item.position > done and projector.wants(item.event_type):
                projector.apply(item, rows)
    rows.flush()
    _set_checkpoints(list(_projectors), last, checkpoints)


def _replay_into(projector: Projector, rows: Rows, after: int, until: int | None) -> int:
    count = 0
    for item in read(after=after, until=until):
        if projector.wants(item.event_type):
            projector.apply(item, rows)
        count += 1
        if count % 5000 == 0:
            rows.flush()
    return count


def rebuild(names: Iterable[str] | None = None, *, chunk: int = 5000) -> dict[str, Any]:
    """Empty the chosen read models and replay every event in order. Run inside the caller's transaction
    (or one of its own); a ReplayError leaves everything as it was."""
    chosen = projectors(names)
    with transaction.atomic():
        for projector in chosen:
            for model in projector.models:
                model.objects.all().delete()
        rows = Rows(fresh=True)
        position, count = 0, 0
        for item in read(chunk=chunk):
            for projector in chosen:
                if projector.wants(item.event_type):
                    projector.apply(item, rows)
            position = item.position
            count += 1
            if count % chunk == 0:
                rows.flush()
        rows.flush()
        checkpoints = {c.name: c.position for c in ProjectorCheckpoint.objects.all()}
        _set_checkpoints([p.name for p in chosen], position, checkpoints)
    return {"events": count, "position": position, "projections": [p.name for p in chosen]}


def catch_up() -> int:
    """Bring every projector up to the end of the log (a projector added since the last append)."""
    with transaction.atomic():
        checkpoints = _checkpoints()
        rows = Rows()
        applied = 0
        end = None
        for projector in _projectors.values():
            applied += _replay_into(projector, rows, after=checkpoints.get(projector.name, 0), until=None)
        rows.flush()
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(position), 0) FROM chorus_event")
            end = cursor.fetchone()[0]
        _set_checkpoints(list(_projectors), end, checkpoints)
    return applied


def snapshot(names: Iterable[str] | None = None) -> dict[str, dict[str, dict[str, Any]]]:
    """Every row of the chosen read models as JSON-comparable values, by table and primary key."""
    tables: dict[str, dict[str, dict[str, Any]]] = {}
    for projector in projectors(names):
        for model in projector.models:
            fields = [f.attname for f in model._meta.concrete_fields]
            pk = model._meta.pk.attname
            tables[model._meta.db_table] = {
                str(values[pk]): json.loads(json.dumps(values, default=str))
                for values in model.objects.order_by(pk).values(*fields)
            }
    return tables


class _Rollback(Exception):
    pass


def verify(names: Iterable[str] | None = None) -> list[str]:
    """Rebuild inside a transaction that is rolled back and list the differences from the live tables."""
    names = list(names) if names is not None else None
    result: list[str] = []
    try:
        with transaction.atomic():
            live = snapshot(names)
            rebuild(names)
            rebuilt = snapshot(names)
            result = diff(live, rebuilt)
            raise _Rollback
    except _Rollback:
        pass
    return result


def diff(live: dict[str, dict[str, dict]], rebuilt: dict[str, dict[str, dict]]) -> list[str]:
    lines: list[str] = []
    for table in sorted(set(live) | set(rebuilt)):
        have, want = live.get(table, {}), rebuilt.get(table, {})
        for pk in sorted(set(have) - set(want)):
            lines.append(f"{table} {pk}: in the live table, not in the replay: {have[pk]}")
        for pk in sorted(set(want) - set(have)):
            lines.append(f"{table} {pk}: missing from the live table; replay gives {want[pk]}")
        for pk in sorted(set(have) & set(want)):
            for field in sorted(set(have[pk]) | set(want[pk])):
                if have[pk].get(field) != want[pk].get(field):
                    lines.append(
                        f"{table} {pk}.{field}: live {have[pk].get(field)!r} != replay {want[pk].get(field)!r}"
                    )
    return lines
