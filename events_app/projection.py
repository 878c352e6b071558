"""Projectors: read models built from events, in the append's transaction, checkpointed and replayable.

A projector names the read models it owns and handles event types with methods marked `@handles(...)`. Handlers
write through a `Rows` unit of work (events_app.rows), never with `.save()`. `project` is the store's first
`on_append` hook (registered in events_app.apps); `rebuild`, `catch_up` and `verify` replay the log.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, ClassVar

from django.db import models, transaction

from events_app import store
from events_app.domain import DomainEvent
from events_app.errors import ReplayError
from events_app.rows import Rows
from events_app.store import Appended, RecordedEvent

__all__ = ["Projector", "Rows", "catch_up", "handles", "project", "projectors", "rebuild", "register", "verify"]
TRACKING = "projection"

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
    # A rebuild from the whole log in one statement (INSERT ... SELECT over the event table, up to the position
    # given as its one parameter) instead of a replay of every event: for a read model that is a plain summary of
    # the log, the same rows a replay would leave.
    rebuilt_by_query: ClassVar[str] = ""
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

    def handler(self, event_type: str) -> Callable[[RecordedEvent, Rows], None] | None:
        """The bound method that handles this event type, or None."""
        method = self._handlers.get(event_type)
        if method:
            return getattr(self, method)
        return self.on_any if self.handles_all else None

    def apply(self, recorded: RecordedEvent, rows: Rows) -> None:
        handle = self.handler(recorded.event_type)
        if handle is not None:
            handle(recorded, rows)

    def on_any(self, recorded: RecordedEvent, rows: Rows) -> None:
        """Called for events without a specific handler when `handles_all` is set."""


_projectors: dict[str, Projector] = {}
# The registered projectors that want each event type, in registration order: an append looks its events' types up
# here instead of asking every projector. Cleared whenever the registry changes.
_wanting: dict[str, tuple[Projector, ...]] = {}


def _wanted(event_type: str) -> tuple[Projector, ...]:
    found = _wanting.get(event_type)
    if found is None:
        found = _wanting[event_type] = tuple(p for p in _projectors.values() if p.wants(event_type))
    return found


def register(cls: type[Projector]) -> type[Projector]:
    """Class decorator: make a projector part of every append and rebuild."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    known = _projectors.get(cls.name)
    if known is not None and (type(known).__module__, type(known).__qualname__) != (cls.__module__, cls.__qualname__):
        raise ValueError(f"projection {cls.name!r} is registered twice")
    _projectors[cls.name] = cls()
    _wanting.clear()
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


@contextlib.contextmanager
def unregistered(*names: str) -> Iterator[None]:
    """Run the block as if these projectors were not registered (as an older release that lacks them would):
    the seam for tests of catching up and of partial rebuilds."""
    removed = {name: _projectors.pop(name) for name in names if name in _projectors}
    _wanting.clear()
    try:
        yield
    finally:
        _projectors.update(removed)
        _wanting.clear()


def _apply_replayed(projector: Projector, item: RecordedEvent, rows: Rows) -> None:
    """Apply a stored event; a handler's failure becomes a ReplayError naming the event and its position."""
    try:
        projector.apply(item, rows)
    except Exception as exc:
        raise _replay_error(projector, item, exc) from exc


def _replay_error(projector: Projector, item: RecordedEvent, exc: Exception) -> ReplayError:
    return ReplayError(item.position, item.event_type, f"projection {projector.name} failed: {exc!r}")


def _replay(behind: dict[Projector, int], rows: Rows, until: int) -> int:
    """Apply the stored events after each projector's checkpoint up to `until`, in one pass over the log."""
    count = 0
    for item in store.read(after=min(behind.values()), until=until):
        for projector, done in behind.items():
            if item.position > done and projector.wants(item.event_type):
                _apply_replayed(projector, item, rows)
        count += 1
    return count


def project(appended: Appended) -> None:
    """The store's `on_append` hook: apply freshly appended events to every projector in the append's transaction.

    A projector whose checkpoint is behind (a new projector, or one an older process did not know) first
    catches up from the table; events at or below a checkpoint are skipped, so applying twice is harmless.
    """
    _project(appended.events, appended.recorder, appended.cursor, head=appended.head, tail=appended.tail)


def apply_events(recorded: Sequence[RecordedEvent]) -> None:
    """Apply events that are already in the log, as an append would: each projector skips what it has applied."""
    recorder = store.recorder()
    with transaction.atomic(using=recorder.alias), contextlib.closing(recorder.cursor()) as cursor:
        _project(recorded, recorder, cursor)


def _project(
    recorded: Sequence[RecordedEvent], recorder, cursor, *, head: str | None = None, tail: str | None = None
) -> None:
    if not _projectors or not recorded:
        return
    first, last = recorded[0].position, recorded[-1].position
    checkpoints = recorder.checkpoints(cursor, TRACKING, head=head)
    if not checkpoints.keys() >= _projectors.keys():
        # Remembered before this projector was registered: only the table knows how far it got.
        checkpoints = recorder.checkpoints(cursor, TRACKING)
    done = {p: checkpoints.get(p.name, 0) for p in _projectors.values()}
    rows = Rows(cursor=cursor)
    behind = {p: position for p, position in done.items() if position < first - 1}
    if behind:
        _replay(behind, rows, until=first - 1)
    # Event by event, every projector in turn: the same order as a rebuild, so a projector that reads another's
    # read model sees the same state live as on replay.
    for item in recorded:
        for projector in _wanted(item.event_type):
            if item.position > done[projector]:
                projector.apply(item, rows)
    rows.flush()
    moved = max(last, *checkpoints.values()) if checkpoints else last
    recorder.set_checkpoints(cursor, TRACKING, list(_projectors), moved, checkpoints, tail=tail)


def rebuild(names: Iterable[str] | None = None) -> dict[str, Any]:
    """Empty the chosen read models and replay every event in order, in one transaction (a savepoint inside the
    caller's): a ReplayError, naming the event, leaves read models and checkpoints as they were.

    Every row stays in memory until the one flush at the end: read models are small beside the log."""
    chosen = projectors(names)
    recorder = store.recorder()
    with transaction.atomic(using=recorder.alias), contextlib.closing(recorder.cursor()) as cursor:
        owned = [model for projector in chosen for model in projector.models]
        for model in owned:
            model.objects.all().delete()
        rows = Rows(fresh=owned, cursor=cursor)
        replayed = [p for p in chosen if not p.rebuilt_by_query]
        count, position = 0, recorder.last_position()
        # Which handlers an event goes to depends on its type only: looked up once per type, not once per event.
        handlers: dict[str, list[tuple[Projector, Callable[[RecordedEvent, Rows], None]]]] = {}
        for count, item in enumerate(store.read(chunk=5000, until=position) if replayed else (), 1):  # noqa: B007
            kind = item.event.event_type
            targets = handlers.get(kind)
            if targets is None:
                found = ((p, p.handler(kind)) for p in replayed)
                targets = handlers[kind] = [(p, handle) for p, handle in found if handle is not None]
            for projector, handle in targets:
                try:
                    handle(item, rows)
                except Exception as exc:
                    raise _replay_error(projector, item, exc) from exc
        rows.flush()
        for projector in chosen:
            if projector.rebuilt_by_query:
                cursor.execute(projector.rebuilt_by_query, [position])
        if not replayed:
            count = position  # positions run 1.. without a gap
        names = [p.name for p in chosen]
        recorder.set_checkpoints(cursor, TRACKING, names, position, recorder.checkpoints(cursor, TRACKING))
    return {"events": count, "position": position, "projections": [p.name for p in chosen]}


def catch_up() -> int:
    """Bring every projector up to the end of the log (one added since the last append); returns the number
    of events replayed."""
    recorder = store.recorder()
    with transaction.atomic(using=recorder.alias), contextlib.closing(recorder.cursor()) as cursor:
        checkpoints = recorder.checkpoints(cursor, TRACKING)
        end = recorder.last_position()
        behind = {p: checkpoints.get(p.name, 0) for p in _projectors.values() if checkpoints.get(p.name, 0) < end}
        if not behind:
            return 0
        rows = Rows(cursor=cursor)
        count = _replay(behind, rows, until=end)
        rows.flush()
        recorder.set_checkpoints(cursor, TRACKING, [p.name for p in behind], end, checkpoints)
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
