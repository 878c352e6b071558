"""Projectors: read models built from events, in the append's transaction, checkpointed and replayable.

A projector names the read models it owns and handles event types with methods marked `@handles(...)`. Handlers
write through a `Rows` unit of work, never with `.save()`: a live append flushes it once, and a rebuild flushes
it once at the end, which is what makes both fast.
"""

from __future__ import annotations

import copy
import functools
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ClassVar

from django.db import DatabaseError, connection, models, transaction

from events_app.domain import DomainEvent
from events_app.store import RawCursor, RecordedEvent, ReplayError, last_position, read

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


# Field classes whose database form of a value of exactly this Python type is the value itself: the conversion
# through the field (half the cost of writing a row back) can be skipped for them. Exact classes only, since a
# subclass may convert differently.
_PLAIN: dict[type[models.Field], type] = {
    models.CharField: str,
    models.TextField: str,
    models.BooleanField: bool,
    models.IntegerField: int,
    models.BigIntegerField: int,
    models.SmallIntegerField: int,
    models.PositiveIntegerField: int,
    models.PositiveBigIntegerField: int,
    models.PositiveSmallIntegerField: int,
}


class _Table:
    """One read-model table's SQL and value conversions, prepared once, so reading or writing a row is one
    cursor call instead of an ORM query build (which costs several times SQLite's own work on these rows)."""

    def __init__(self, model: type[models.Model]):
        meta = model._meta
        quote = connection.ops.quote_name
        self.model = model
        self.fields = list(meta.concrete_fields)
        self.pk = meta.pk
        self.others = [f for f in self.fields if f is not self.pk]
        self.attnames = [f.attname for f in self.fields]
        self.other_attnames = [f.attname for f in self.others]
        self.column_index = {f.attname: i for i, f in enumerate(self.others)}
        self.plain = [_PLAIN.get(type(f)) for f in self.fields]
        self.other_plain = [_PLAIN.get(type(f)) for f in self.others]
        self.pk_plain = _PLAIN.get(type(self.pk))
        self.every_column = tuple(range(len(self.others)))
        self._table, self._pk = quote(meta.db_table), quote(self.pk.column)
        columns = ", ".join(quote(f.column) for f in self.fields)
        placeholders = ", ".join(["%s"] * len(self.fields))
        self.select_sql = f"SELECT {columns} FROM {self._table} WHERE {self._pk} = %s"  # noqa: S608  (quoted names)
        self.insert_sql = f"INSERT INTO {self._table} ({columns}) VALUES ({placeholders})"  # noqa: S608
        self._updates: dict[tuple[int, ...], str] = {}
        # The converters the ORM's compiler would apply to these columns (aware datetimes, JSON, decimals...).
        self.converters = []
        for index, field in enumerate(self.fields):
            column = field.get_col(meta.db_table)
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                self.converters.append((index, column, found))

    def update_sql(self, changed: tuple[int, ...]) -> str:
        """UPDATE of just the changed columns (indexes into `others`), so untouched indexes are not rewritten."""
        sql = self._updates.get(changed)
        if sql is None:
            quote = connection.ops.quote_name
            assignments = ", ".join(f"{quote(self.others[i].column)} = %s" for i in changed)
            sql = self._updates[changed] = f"UPDATE {self._table} SET {assignments} WHERE {self._pk} = %s"  # noqa: S608
        return sql

    def load(self, cursor: RawCursor, pk: Any) -> models.Model | None:
        db = cursor.db
        found = cursor.execute(self.select_sql, [self._prepared_pk(pk, db)]).fetchone()
        if found is None:
            return None
        values = list(found)
        for index, column, converters in self.converters:
            for converter in converters:
                values[index] = converter(values[index], column, db)
        return self.model.from_db(db.alias, self.attnames, values)

    def values(self, row: models.Model) -> list[Any]:
        """The row's current values of every column but the primary key."""
        return [getattr(row, name) for name in self.other_attnames]

    @staticmethod
    def snapshot(values: list[Any]) -> list[Any]:
        # A handler may change a JSON value in place; only a copy can tell that it changed.
        return [copy.deepcopy(v) if isinstance(v, dict | list) else v for v in values]

    def _prepared_pk(self, pk: Any, db: Any) -> Any:
        return pk if type(pk) is self.pk_plain else self.pk.get_db_prep_value(pk, db)

    def insert_params(self, row: models.Model, db: Any) -> list[Any]:
        params = []
        for field, plain in zip(self.fields, self.plain, strict=True):
            value = field.pre_save(row, True)
            params.append(value if type(value) is plain else field.get_db_prep_save(value, db))
        return params

    def update_params(self, changed: tuple[int, ...], values: list[Any], pk: Any, db: Any) -> list[Any]:
        params = []
        for i in changed:
            value = values[i]
            params.append(value if type(value) is self.other_plain[i] else self.others[i].get_db_prep_save(value, db))
        params.append(self._prepared_pk(pk, db))
        return params


_tables: dict[type[models.Model], _Table] = {}


def _table(model: type[models.Model]) -> _Table:
    table = _tables.get(model)
    if table is None:
        table = _tables[model] = _Table(model)
    return table


Key = tuple[type[models.Model], Any]
_MISSING = object()


class Rows:
    """An identity map with write-behind for read-model rows, keyed by primary key.

    `fresh` names the models whose tables a rebuild has just emptied: every row of theirs is in the map, so a
    miss needs no query. Call `save` after changing a row and `delete` to remove one; `flush` writes them all,
    and a row that was read from the table is written back with just the columns that changed. `update` sets
    columns of an existing row without reading it, for a handler that only writes.
    Rows need their primary key before `save` (derive it from the event, e.g. its stream id or position).
    """

    def __init__(self, fresh: Iterable[type[models.Model]] = (), cursor: RawCursor | None = None):
        self.fresh = frozenset(fresh)
        self.cursor = cursor
        self._rows: dict[Key, models.Model | None] = {}
        self._dirty: dict[Key, models.Model] = {}
        self._deleted: dict[type[models.Model], set[Any]] = defaultdict(set)
        # Column values of rows as they were read, to write back only what changed.
        self._stored: dict[Key, list[Any]] = {}
        # Columns set by `update` on rows that were not read: written as they are, unless the row is read later.
        self._patches: dict[Key, dict[str, Any]] = {}

    def _cursor(self) -> RawCursor:
        if self.cursor is None:
            # Rows used on their own, outside project() or rebuild(): one cursor for as long as they live.
            self.cursor = RawCursor()
        return self.cursor

    def get(self, model: type[models.Model], pk: Any) -> Any:
        key = (model, pk)
        row = self._rows.get(key, _MISSING)
        if row is not _MISSING:
            return row
        row = None
        if model not in self.fresh:
            table = _table(model)
            row = table.load(self._cursor(), pk)
            if row is not None:
                self._stored[key] = table.snapshot(table.values(row))
                patch = self._patches.pop(key, None)
                if patch:
                    for name, value in patch.items():
                        setattr(row, name, value)
                    self._dirty[key] = row
        self._rows[key] = row
        return row

    def update(self, model: type[models.Model], pk: Any, **values: Any) -> None:
        """Set these columns (by attribute name: `author_id` for a foreign key) of an existing row without reading
        it first. The row must exist: flush raises DatabaseError when it does not."""
        table = _table(model)
        if not table.column_index.keys() >= values.keys():
            unknown = ", ".join(sorted(values.keys() - table.column_index.keys()))
            raise ValueError(f"{model.__name__} has no column(s) {unknown} to update")
        key = (model, pk)
        row = self._rows.get(key, _MISSING)
        if row is _MISSING and model not in self.fresh:
            self._patches.setdefault(key, {}).update(values)
            return
        if row is None or row is _MISSING:
            raise DatabaseError(f"{model.__name__} {pk!r} does not exist to be updated")
        for name, value in values.items():
            setattr(row, name, value)
        self.save(row)

    def save(self, row: models.Model) -> None:
        pk = row.pk
        if pk is None:
            raise ValueError(f"{type(row).__name__} row has no primary key; a projector must set it")
        key = (type(row), pk)
        self._rows[key] = row
        self._dirty[key] = row
        if self._patches:
            self._patches.pop(key, None)
        # Saving the deleted instance again keeps the row; a new instance under a deleted key replaces it, so
        # that deletion must still run (deletes are flushed before inserts).
        if not row._state.adding:
            self._deleted[type(row)].discard(pk)

    def delete(self, row: models.Model) -> None:
        key = (type(row), row.pk)
        self._rows[key] = None
        self._dirty.pop(key, None)
        self._patches.pop(key, None)
        # What was read no longer describes the table's row, and a row saved under this key later is a new one.
        self._stored.pop(key, None)
        if not row._state.adding:
            self._deleted[type(row)].add(row.pk)

    def filter(self, model: type[models.Model], **lookup: Any) -> list[Any]:
        """Rows matching `lookup`: pending writes are flushed first, then the map's copies are returned."""
        self.flush()
        table = _table(model)
        found = []
        for row in model.objects.filter(**lookup):
            key = (model, row.pk)
            if key not in self._rows:
                self._rows[key] = row
                self._stored[key] = table.snapshot(table.values(row))
            if self._rows[key] is not None:
                found.append(self._rows[key])
        return found

    def flush(self) -> None:
        for model, pks in self._deleted.items():
            if pks:
                # Through the ORM: deleting read-model rows may cascade to rows that refer to them.
                model.objects.filter(pk__in=list(pks)).delete()
        self._deleted.clear()
        if not self._dirty and not self._patches:
            return
        dirty, self._dirty = self._dirty, {}
        patches, self._patches = self._patches, {}
        new: dict[_Table, list[models.Model]] = defaultdict(list)
        changed: dict[tuple[_Table, tuple[int, ...]], list[tuple[Any, list[Any]]]] = defaultdict(list)
        for key, row in dirty.items():
            table = _table(key[0])
            if row._state.adding:
                new[table].append(row)
                continue
            values = table.values(row)
            # Written now, the stored copy goes stale: a later flush of this row writes every column.
            stored = self._stored.pop(key, None)
            columns = (
                table.every_column
                if stored is None
                else tuple(i for i, (value, old) in enumerate(zip(values, stored, strict=True)) if value != old)
            )
            if columns:
                changed[(table, columns)].append((row.pk, values))
        for (model, pk), patch in patches.items():
            table = _table(model)
            columns = tuple(sorted({table.column_index[name] for name in patch}))
            values = [None] * len(table.others)
            for name, value in patch.items():
                values[table.column_index[name]] = value
            changed[(table, columns)].append((pk, values))
        cursor = self._cursor()
        db = cursor.db
        for table, batch in new.items():
            cursor.executemany(table.insert_sql, [table.insert_params(row, db) for row in batch])
            for row in batch:
                row._state.adding = False
                row._state.db = db.alias
        for (table, columns), batch in changed.items():
            cursor.executemany(
                table.update_sql(columns), [table.update_params(columns, values, pk, db) for pk, values in batch]
            )
            if cursor.rowcount != len(batch):
                raise DatabaseError(
                    f"{len(batch) - cursor.rowcount} {table.model.__name__} row(s) to update are missing from "
                    f"{table.model._meta.db_table}: the read model was changed outside its projector "
                    "(manage.py rebuild_projections repairs it)"
                )


_projectors: dict[str, Projector] = {}


def register(cls: type[Projector]) -> type[Projector]:
    """Class decorator: make a projector part of every append and rebuild."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    known = _projectors.get(cls.name)
    if known is not None and (type(known).__module__, type(known).__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"projection {cls.name!r} is registered twice")
    _projectors[cls.name] = cls()
    return cls


def projectors(names: Iterable[str] | None = None) -> list[Projector]:
    """The registered projectors, or the ones named (each once, in the order given)."""
    if names is None:
        return list(_projectors.values())
    names = list(dict.fromkeys(names))
    unknown = sorted(set(names) - set(_projectors))
    if unknown:
        raise KeyError(f"unknown projection(s): {', '.join(unknown)}; known: {', '.join(sorted(_projectors))}")
    return [_projectors[n] for n in names]


def _checkpoints(cursor: RawCursor) -> dict[str, int]:
    return dict(cursor.execute("SELECT name, position FROM chorus_projector_checkpoint").fetchall())


@functools.lru_cache(maxsize=64)
def _checkpoint_update(count: int) -> str:
    return f"UPDATE chorus_projector_checkpoint SET position = %s WHERE name IN ({', '.join(['%s'] * count)})"  # noqa: S608


def _set_checkpoints(cursor: RawCursor, names: Sequence[str], position: int, existing: dict[str, int]) -> None:
    """Move these projectors' checkpoints to `position`: one UPDATE, plus an INSERT for a projector's first."""
    known = [name for name in names if name in existing]
    if known:
        cursor.execute(_checkpoint_update(len(known)), [position, *known])
        if cursor.rowcount != len(known):
            raise DatabaseError("projector checkpoints were deleted outside the event store")
    new = [(name, position) for name in names if name not in existing]
    if new:
        cursor.executemany("INSERT INTO chorus_projector_checkpoint (name, position) VALUES (%s, %s)", new)


# What this process knows for certain: right after it committed an append ending in the event with hash H,
# every projector it runs had applied the log up to that event. While the log still ends with H (nobody has
# appended since), those are the checkpoints, and the next append need not read them. Set on commit only, so a
# rolled-back append is never remembered; any other process's append changes the last hash.
_known: tuple[str, dict[str, int]] | None = None


def _remember(tail: str, checkpoints: dict[str, int]) -> None:
    global _known
    _known = (tail, checkpoints)


def _apply_replayed(projector: Projector, item: RecordedEvent, rows: Rows) -> None:
    """Apply a stored event; a handler's failure becomes a ReplayError naming the event and its position."""
    try:
        projector.apply(item, rows)
    except Exception as exc:
        raise ReplayError(item.position, item.event_type, f"projection {projector.name} failed: {exc!r}") from exc


def _replay(behind: dict[Projector, int], rows: Rows, until: int) -> int:
    """Apply the stored events after each projector's checkpoint up to `until`, in one pass over the log."""
    count = 0
    for item in read(after=min(behind.values()), until=until):
        for projector, done in behind.items():
            if item.position > done and projector.wants(item.event_type):
                _apply_replayed(projector, item, rows)
        count += 1
    return count


def project(
    recorded: Sequence[RecordedEvent],
    cursor: RawCursor | None = None,
    *,
    head: str | None = None,
    tail: str | None = None,
) -> None:
    """Apply freshly appended events to every projector; called by `append` inside its transaction, with the
    hashes of the log's last event before (`head`) and after (`tail`) the append.

    A projector whose checkpoint is behind (a new projector, or one an older process did not know) first
    catches up from the table; events at or below a checkpoint are skipped, so applying twice is harmless.
    """
    if not _projectors or not recorded:
        return
    if cursor is None:
        with RawCursor() as cursor:
            return project(recorded, cursor, head=head, tail=tail)
    first, last = recorded[0].position, recorded[-1].position
    known = _known
    if head is not None and known is not None and known[0] == head and known[1].keys() == _projectors.keys():
        checkpoints = known[1]
    else:
        checkpoints = _checkpoints(cursor)
    done = {p: checkpoints.get(p.name, 0) for p in _projectors.values()}
    rows = Rows(cursor=cursor)
    behind = {p: position for p, position in done.items() if position < first - 1}
    if behind:
        _replay(behind, rows, until=first - 1)
    # Event by event, every projector in turn: the same order as a rebuild, so a projector that reads another's
    # read model sees the same state live as on replay.
    for item in recorded:
        for projector, position in done.items():
            if item.position > position and projector.wants(item.event_type):
                projector.apply(item, rows)
    rows.flush()
    _set_checkpoints(cursor, list(_projectors), last, checkpoints)
    if tail is not None:
        cursor.db.on_commit(functools.partial(_remember, tail, dict.fromkeys(_projectors, last)))


def rebuild(names: Iterable[str] | None = None) -> dict[str, Any]:
    """Empty the chosen read models and replay every event in order, in one transaction (a savepoint inside the
    caller's): a ReplayError, naming the event, leaves read models and checkpoints as they were.

    Every row stays in memory until the one flush at the end: read models are small beside the log."""
    chosen = projectors(names)
    with transaction.atomic(), RawCursor() as cursor:
        owned = [model for projector in chosen for model in projector.models]
        for model in owned:
            model.objects.all().delete()
        rows = Rows(fresh=owned, cursor=cursor)
        position, count = 0, 0
        # Which projectors want an event depends on its type only: asked once per type, not once per event.
        wanted: dict[str, list[Projector]] = {}
        for item in read(chunk=5000):
            targets = wanted.get(item.event_type)
            if targets is None:
                targets = wanted[item.event_type] = [p for p in chosen if p.wants(item.event_type)]
            for projector in targets:
                _apply_replayed(projector, item, rows)
            position = item.position
            count += 1
        rows.flush()
        _set_checkpoints(cursor, [p.name for p in chosen], position, _checkpoints(cursor))
    return {"events": count, "position": position, "projections": [p.name for p in chosen]}


def catch_up() -> int:
    """Bring every projector up to the end of the log (one added since the last append); returns the number
    of events replayed."""
    with transaction.atomic(), RawCursor() as cursor:
        checkpoints = _checkpoints(cursor)
        end = last_position()
        behind = {p: checkpoints.get(p.name, 0) for p in _projectors.values() if checkpoints.get(p.name, 0) < end}
        if not behind:
            return 0
        rows = Rows(cursor=cursor)
        count = _replay(behind, rows, until=end)
        rows.flush()
        _set_checkpoints(cursor, [p.name for p in behind], end, checkpoints)
    return count


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


def dry_rebuild(names: Iterable[str] | None = None) -> tuple[dict[str, Any], list[str]]:
    """Rebuild inside a transaction that is rolled back: what a rebuild would report, and how its tables differ
    from the live ones. Nothing changes, whatever happens."""
    names = list(names) if names is not None else None
    with transaction.atomic():
        live = snapshot(names)
        result = rebuild(names)
        differences = diff(live, snapshot(names))
        transaction.set_rollback(True)
    return result, differences


def verify(names: Iterable[str] | None = None) -> list[str]:
    """The differences between the live read models and a replay of the log (empty when they are equal)."""
    return dry_rebuild(names)[1]


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
