"""A unit of work for read-model rows: what projectors write through, never `.save()`.

Projectors change rows in an identity map; a live append flushes it once, and a rebuild flushes it once at the
end, which is what makes both fast. Rows are read and written with prepared portable SQL through the recorder's
cursor (its fast path, where it has one), not through ORM query building.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import DatabaseError, connection, models

from events_app import store
from events_app.recorders import Cursor

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
        # Columns `Rows.update` may set straight into a row's __dict__: those whose class attribute does nothing on
        # assignment (a foreign key's `_id` has a descriptor that forgets the cached related object).
        self.plain_updates = frozenset(
            name for name in self.other_attnames if not hasattr(getattr(model, name, None), "__set__")
        )
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
        self._last_datetime: dict[models.Field, tuple[datetime, str, Any]] = {}
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

    def load(self, cursor: Cursor, pk: Any) -> models.Model | None:
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
            params.append(value if type(value) is plain else self._prepared(field, value, db))
        return params

    def update_params(self, changed: tuple[int, ...], values: list[Any], pk: Any, db: Any) -> list[Any]:
        params = []
        for i in changed:
            value = values[i]
            params.append(value if type(value) is self.other_plain[i] else self._prepared(self.others[i], value, db))
        params.append(self._prepared_pk(pk, db))
        return params

    def _prepared(self, field: models.Field, value: Any, db: Any) -> Any:
        """The field's database form of `value`. A datetime (immutable) is converted once while the same one comes
        again: the events of one append share their recorded_at, which lands in a timestamp column or two of each
        row they write (a first scan's 5,000 documents: 20,000 conversions, now one per batch)."""
        if type(value) is not datetime:
            return field.get_db_prep_save(value, db)
        last = self._last_datetime.get(field)
        if last is not None and last[0] is value and last[1] == db.alias:
            return last[2]
        prepared = field.get_db_prep_save(value, db)
        self._last_datetime[field] = (value, db.alias, prepared)
        return prepared


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

    def __init__(self, fresh: Iterable[type[models.Model]] = (), cursor: Cursor | None = None):
        self.fresh = frozenset(fresh)
        self.cursor = cursor
        self._rows: dict[Key, models.Model | None] = {}
        self._dirty: dict[Key, models.Model] = {}
        self._deleted: dict[type[models.Model], set[Any]] = defaultdict(set)
        # Column values of rows as they were read, to write back only what changed.
        self._stored: dict[Key, list[Any]] = {}
        # Columns set by `update` on rows that were not read: written as they are, unless the row is read later.
        self._patches: dict[Key, dict[str, Any]] = {}

    def _cursor(self) -> Cursor:
        if self.cursor is None:
            # Rows used on their own, outside project() or rebuild(): one cursor for as long as they live.
            self.cursor = store.recorder().cursor()
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
        table = _tables.get(model) or _table(model)
        key = (model, pk)
        row = self._rows.get(key, _MISSING)
        if row is not _MISSING and row is not None and values.keys() <= table.plain_updates:
            # In the map and not deleted: setting the values and marking it dirty is all there is to do (the streams
            # projector updates a row for every event, so this is a rebuild's hottest line).
            row.__dict__.update(values)
            self._dirty[key] = row
            return
        if not values.keys() <= table.column_index.keys():
            unknown = ", ".join(sorted(values.keys() - table.column_index.keys()))
            raise ValueError(f"{model.__name__} has no column(s) {unknown} to update")
        if row is _MISSING and model not in self.fresh:
            self._patches.setdefault(key, {}).update(values)
            return
        if row is None or row is _MISSING:
            raise DatabaseError(f"{model.__name__} {pk!r} does not exist to be updated")
        for name, value in values.items():
            setattr(row, name, value)
        self._dirty[key] = row

    def save(self, row: models.Model) -> None:
        model = type(row)
        pk = getattr(row, row._meta.pk.attname)
        if pk is None:
            raise ValueError(f"{model.__name__} row has no primary key; a projector must set it")
        key = (model, pk)
        self._rows[key] = row
        self._dirty[key] = row
        if self._patches:
            self._patches.pop(key, None)
        # Saving the deleted instance again keeps the row; a new instance under a deleted key replaces it, so
        # that deletion must still run (deletes are flushed before inserts).
        if not row._state.adding:
            deleted = self._deleted.get(model)
            if deleted:
                deleted.discard(pk)

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
