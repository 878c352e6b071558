"""The contract every recorder must pass (the shape of pyeventsourcing's tests/persistence.py).

A backend's test module subclasses RecorderContract with `make_recorder()`; each test then runs on that recorder,
directly and through the store (store.use_recorder). Not collected by itself: the class name has no Test prefix.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import IntegrityError, close_old_connections, connection, transaction

from events_app import store
from events_app.audit import verify_events
from events_app.recorders import Recorder
from events_app.store import GENESIS_HASH, ConcurrencyError, chain_hash
from tests.demo.events import CounterIncremented, CounterOpened, CounterRenamed

WHEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def row(
    position: int,
    stream_id: str,
    version: int,
    previous: str,
    *,
    event_type: str = "CounterIncremented",
    when: datetime = WHEN,
    recorder: Recorder,
) -> tuple:
    data = '{"name":"x"}' if event_type == "CounterOpened" else '{"by":1,"note":""}'
    fields = (
        position,
        "counter",
        stream_id,
        version,
        event_type,
        1,
        data,
        '{"actor":"test"}',
        recorder.adapt_datetime(when),
    )
    return (*fields, chain_hash(previous, fields))


class RecorderContract:
    def make_recorder(self) -> Recorder:
        raise NotImplementedError

    @pytest.fixture
    def recorder(self, db):
        chosen = self.make_recorder()
        with store.use_recorder(chosen):
            yield chosen

    def write(self, recorder: Recorder, rows: list[tuple]) -> None:
        with recorder.writing() as cursor:
            recorder.insert(cursor, rows)

    def three(self, recorder: Recorder) -> list[tuple]:
        """Positions 1..3: counter a v1, b v1, a v2 (a minute apart)."""
        first = row(1, "a", 1, GENESIS_HASH, event_type="CounterOpened", recorder=recorder)
        second = row(
            2, "b", 1, first[-1], event_type="CounterOpened", when=WHEN + timedelta(minutes=1), recorder=recorder
        )
        third = row(3, "a", 2, second[-1], when=WHEN + timedelta(minutes=2), recorder=recorder)
        rows = [first, second, third]
        self.write(recorder, rows)
        return rows

    # --- the event table ---------------------------------------------------------------------------------------

    def test_an_empty_log_has_no_head(self, recorder):
        with recorder.writing() as cursor:
            assert recorder.head(cursor, "counter", "a") == (0, 0, None, None)
        assert recorder.last_position() == 0
        assert recorder.stream_version("counter", "a") == 0
        assert recorder.select(limit=10) == []
        assert recorder.notifications(0, 10) == []

    def test_inserted_rows_read_back_in_position_order_as_written(self, recorder):
        rows = self.three(recorder)

        found = recorder.select(limit=10)
        assert [r[:8] for r in found] == [r[:8] for r in rows]
        assert datetime.fromisoformat(found[0][8]).replace(tzinfo=UTC) == WHEN
        assert recorder.hashed_rows(0, 10) == [(*f, r[-1]) for f, r in zip(found, rows, strict=True)]
        with recorder.writing() as cursor:
            assert recorder.head(cursor, "counter", "a") == (2, 3, rows[-1][-1], found[-1][8])
            assert recorder.head(cursor, "counter", "b") == (1, 3, rows[-1][-1], found[-1][8])
        assert (recorder.last_position(), recorder.stream_version("counter", "a")) == (3, 2)

    def test_a_taken_stream_version_is_refused_and_nothing_of_the_batch_is_written(self, recorder):
        rows = self.three(recorder)
        clash = [row(4, "b", 2, rows[-1][-1], recorder=recorder), row(5, "a", 2, GENESIS_HASH, recorder=recorder)]

        with pytest.raises(IntegrityError):
            self.write(recorder, clash)

        assert [r[0] for r in recorder.select(limit=10)] == [1, 2, 3]
        assert not connection.needs_rollback

    def test_a_write_that_fails_after_inserting_leaves_nothing(self, recorder):
        with pytest.raises(RuntimeError), recorder.writing() as cursor:
            recorder.insert(cursor, [row(1, "a", 1, GENESIS_HASH, event_type="CounterOpened", recorder=recorder)])
            raise RuntimeError("after the insert")
        assert recorder.last_position() == 0

    def test_select_filters_and_pages_both_ways(self, recorder):
        self.three(recorder)

        def positions(**filters):
            return [r[0] for r in recorder.select(limit=filters.pop("limit", 10), **filters)]

        assert positions(stream_type="counter", stream_id="a") == [1, 3]
        assert positions(stream_type="other") == []
        assert positions(event_types=["CounterOpened"]) == [1, 2]
        assert positions(since=WHEN + timedelta(minutes=1)) == [2, 3]
        assert positions(before=WHEN + timedelta(minutes=1)) == [1]
        assert positions(after=1) == [2, 3]
        assert positions(until=2) == [1, 2]
        assert positions(before_position=3, descending=True) == [2, 1]
        assert positions(descending=True, limit=2) == [3, 2]
        assert [r[0] for r in recorder.notifications(1, 1)] == [2]
        assert recorder.notifications(0, 10)[2] == (3, "counter", "a", 2, "CounterIncremented")

    def test_one_stream_pages_by_position_both_ways_between_other_streams(self, recorder):
        # Positions 1..12, streams a and b taking turns: a holds the odd positions, b the even ones.
        store.append("counter", "a", 0, [CounterOpened(name="a")])
        store.append("counter", "b", 0, [CounterOpened(name="b")])
        for version in range(2, 7):
            store.append("counter", "a", version - 1, [CounterIncremented(by=version, note="")])
            store.append("counter", "b", version - 1, [CounterIncremented(by=version, note="")])

        def positions(**filters):
            found = recorder.select(stream_type="counter", stream_id="a", limit=filters.pop("limit", 10), **filters)
            return [r[0] for r in found]

        assert positions(after=4) == [5, 7, 9, 11]
        assert positions(after=5, limit=2) == [7, 9]
        assert positions(after=11) == []
        assert positions(until=6) == [1, 3, 5]
        assert positions(after=2, until=8) == [3, 5, 7]
        assert positions(before_position=9, descending=True, limit=2) == [7, 5]
        assert positions(before_position=1, descending=True) == []
        assert positions(after=12) == []

    def test_select_by_actor_and_by_several_types_in_position_order(self, recorder):
        with store.event_context(actor="alice"):
            store.append("counter", "a", 0, [CounterOpened(name="a")])
        with store.event_context(actor="bob"):
            store.append("counter", "b", 0, [CounterOpened(name="b"), CounterIncremented(by=1, note="")])
        with store.event_context(actor="alice"):
            store.append("counter", "a", 1, [CounterIncremented(by=2, note=""), CounterRenamed(name="c")])

        def positions(**filters):
            return [r[0] for r in recorder.select(limit=filters.pop("limit", 10), **filters)]

        assert positions(actor="alice") == [1, 4, 5]
        assert positions(actor="alice", descending=True, limit=2) == [5, 4]
        assert positions(actor="alice", after=1, event_types=["CounterRenamed"]) == [5]
        assert positions(actor="nobody") == []
        several = ["CounterRenamed", "CounterOpened", "CounterRenamed"]
        assert positions(event_types=several) == [1, 2, 5]
        assert positions(event_types=several, descending=True, limit=2) == [5, 2]
        assert positions(event_types=several, after=1, until=4) == [2]

    # --- tracking ----------------------------------------------------------------------------------------------

    @pytest.mark.parametrize("tracking", ["projection", "policy"])
    def test_checkpoints_are_inserted_then_moved(self, recorder, tracking):
        with recorder.writing() as cursor:
            existing = recorder.checkpoints(cursor, tracking)
            recorder.set_checkpoints(cursor, tracking, ["one", "two"], 5, existing)
            recorder.set_checkpoints(cursor, tracking, ["two"], 9, recorder.checkpoints(cursor, tracking))
            found = recorder.checkpoints(cursor, tracking)
        assert {k: found[k] for k in ("one", "two")} == {"one": 5, "two": 9}
        assert recorder.max_checkpoint_after(tracking, 6) == ("two", 9)
        assert recorder.max_checkpoint_after(tracking, 9) is None

    def test_moving_a_checkpoint_that_was_deleted_is_an_error(self, recorder):
        with recorder.writing() as cursor:
            recorder.set_checkpoints(cursor, "policy", ["gone"], 1, {})
            with pytest.raises(Exception, match="deleted outside the event store"):
                recorder.set_checkpoints(cursor, "policy", ["gone", "never"], 2, {"gone": 1, "never": 1})

    # --- through the store -------------------------------------------------------------------------------------

    def test_the_store_appends_reads_and_audits_through_the_recorder(self, recorder):
        store.append("counter", "a", 0, [CounterOpened(name="a"), CounterIncremented(by=2, note="")])
        store.append("counter", "b", 0, [CounterOpened(name="b")])
        with pytest.raises(ConcurrencyError):
            store.append("counter", "a", 1, [CounterIncremented(by=1, note="stale")])

        assert [(e.position, e.stream_id, e.version) for e in store.read()] == [(1, "a", 1), (2, "a", 2), (3, "b", 1)]
        assert [e.position for e in store.read(descending=True, chunk=1)] == [3, 2, 1]
        assert (store.last_position(), store.stream_version("counter", "a")) == (3, 2)
        assert verify_events().ok


class ConcurrentRecorderContract:
    """Writers in several threads (each its own connection): the recorder's lock serialises them, so positions
    stay gapless and a stream version is taken once. Needs a transactional database."""

    def make_recorder(self) -> Recorder:
        raise NotImplementedError

    @pytest.mark.django_db(transaction=True)
    def test_racing_writers_take_each_version_once_and_leave_no_gap(self):
        chosen = self.make_recorder()
        with store.use_recorder(chosen):
            store.append("counter", "race", 0, [CounterOpened(name="race")])
        won, lost, errors = [], [], []
        start = threading.Barrier(4)

        def writer(number: int) -> None:
            try:
                with store.use_recorder(chosen):
                    start.wait()
                    for _ in range(10):
                        version = store.stream_version("counter", "race")
                        try:
                            store.append("counter", "race", version, [CounterIncremented(by=number, note="")])
                            won.append(number)
                        except ConcurrencyError:
                            lost.append(number)
            except Exception as exc:
                errors.append(exc)
            finally:
                close_old_connections()
                connection.close()

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        with store.use_recorder(chosen):
            events = list(store.read())
            assert [e.position for e in events] == list(range(1, len(events) + 1))
            assert [e.version for e in events] == list(range(1, len(won) + 2))
            assert verify_events().ok
        assert len(won) + len(lost) == 40
        assert transaction.get_autocommit()
