"""The event store's contract: append, concurrency, atomic batches, order, the hash chain, upcasting, bad input
and event metadata; each test on both cursor paths of the SQLite recorder."""

import dataclasses
import json
from datetime import timedelta

import pytest
from django.db import connection, transaction

from events_app import projection, store
from events_app.audit import verify_events
from events_app.domain import DomainEvent, EventError, event
from events_app.errors import DomainError
from events_app.models import Stream
from events_app.recorders.sqlite import SQLiteRecorder
from events_app.store import ConcurrencyError, ReplayError
from tests.demo import services
from tests.demo.events import CounterClosed, CounterIncremented, CounterLabelled, CounterOpened, CounterRenamed
from tests.demo.models import Counter
from tests.demo.projectors import CounterProjector
from tests.events_app.helpers import checkpoints, event_rows, history, sql, state, write_raw_event

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True, params=[True, False], ids=["raw-cursor", "django-cursor"])
def cursor_path(request):
    """The store's contract holds on both of the SQLite recorder's cursor paths."""
    with store.use_recorder(SQLiteRecorder(raw=request.param)) as chosen:
        yield chosen


def test_append_records_position_version_and_projects_in_the_same_call():
    recorded = services.counter_open("c1", "first") + services.counter_increment("c1", 5)

    assert [(e.position, e.version, e.event_type) for e in recorded] == [
        (1, 1, "CounterOpened"),
        (2, 2, "CounterIncremented"),
    ]
    assert Counter.objects.get(pk="c1").value == 5
    assert Stream.objects.get(pk="counter:c1").version == 2
    assert [e.event for e in store.read()] == [CounterOpened(name="first"), CounterIncremented(by=5, note="")]


def test_read_returns_every_stream_in_global_position_order():
    for number in range(3):
        for counter in ("x", "y", "z"):
            if number == 0:
                services.counter_open(counter, counter)
            else:
                services.counter_increment(counter, number)

    everything = list(store.read())
    assert [e.position for e in everything] == list(range(1, 10))
    assert [e.stream_id for e in everything] == ["x", "y", "z"] * 3
    # Chunk boundaries must neither skip nor repeat an event, in either direction.
    assert [e.position for e in store.read(chunk=2)] == list(range(1, 10))
    assert [e.position for e in store.read(descending=True, chunk=2)] == list(range(9, 0, -1))
    assert [e.position for e in store.read(stream_id="y", stream_type="counter", chunk=1)] == [2, 5, 8]
    assert [e.version for e in store.read(stream_id="y", stream_type="counter")] == [1, 2, 3]
    assert [e.position for e in store.read(after=3, until=6)] == [4, 5, 6]
    assert [e.position for e in store.read(descending=True, limit=4, after=6, chunk=3)] == [9, 8, 7]
    assert [e.position for e in store.read(limit=5, chunk=2)] == [1, 2, 3, 4, 5]
    assert [e.position for e in store.read(event_types=["CounterOpened"])] == [1, 2, 3]


def test_version_conflict_raises_and_the_callers_transaction_survives():
    services.counter_open("c1", "first")
    before = state()

    with transaction.atomic():
        services.counter_increment("c1", 1)
        with pytest.raises(ConcurrencyError) as conflict:
            store.append("counter", "c1", 1, [CounterIncremented(by=100, note="stale")])
        # The failed append rolled back its own savepoint only: the caller can go on and commit its work.
        assert not connection.needs_rollback
        services.counter_increment("c1", 2)

    assert (conflict.value.expected, conflict.value.actual) == (1, 2)
    assert "counter 'c1' is at version 2, not 1" in str(conflict.value)
    assert [row[3] for row in event_rows()] == [1, 2, 3]
    assert Counter.objects.get(pk="c1").value == 3
    assert checkpoints()["demo_counters"] == 3 != before[1]["demo_counters"]


def test_a_conflict_writes_nothing():
    services.counter_open("c1", "first")
    before, rows = state(), event_rows()

    with pytest.raises(ConcurrencyError):
        services.counter_open("c1", "again")
    with pytest.raises(ConcurrencyError):
        store.append("counter", "c1", 5, [CounterIncremented(by=1, note="")])

    assert (state(), event_rows()) == (before, rows)


@pytest.mark.django_db(transaction=True)
def test_a_conflict_outside_any_transaction_leaves_the_connection_ready():
    services.counter_open("c1", "first")

    with pytest.raises(ConcurrencyError):
        store.append("counter", "c1", 0, [CounterOpened(name="again")])

    assert not connection.in_atomic_block
    services.counter_increment("c1", 4)
    assert Counter.objects.get(pk="c1").value == 4
    assert verify_events().ok


class StaleHead(SQLiteRecorder):
    """As if another writer had got in between reading the version and inserting (possible only for a connection
    that does not take the write lock at BEGIN): the store is told a version that is already taken."""

    def head(self, cursor, stream_type, stream_id):
        version, position, last_hash, last_at = super().head(cursor, stream_type, stream_id)
        return version - 1, position, last_hash, last_at


def test_the_unique_stream_version_is_the_last_line_of_defence():
    services.counter_open("c1", "first")
    before, rows = state(), event_rows()

    with store.use_recorder(StaleHead()), pytest.raises(ConcurrencyError) as conflict:
        store.append("counter", "c1", None, [CounterIncremented(by=1, note="")])

    assert (conflict.value.expected, conflict.value.actual) == (0, 1)
    assert (state(), event_rows()) == (before, rows)


def test_a_batch_is_one_transaction_with_consecutive_positions_and_versions():
    recorded = store.append(
        "counter", "c1", 0, [CounterOpened(name="c"), CounterIncremented(by=2, note=""), CounterRenamed(name="d")]
    )

    assert [(e.position, e.version) for e in recorded] == [(1, 1), (2, 2), (3, 3)]
    assert len({e.recorded_at for e in recorded}) == 1
    assert len({e.metadata["correlation_id"] for e in recorded}) == 1
    counter = Counter.objects.get(pk="c1")
    assert (counter.name, counter.value) == ("d", 2)
    assert checkpoints() == dict.fromkeys(checkpoints(), 3)


def test_a_batch_is_all_or_nothing_when_a_projector_fails_midway(monkeypatch):
    services.counter_open("c0", "existing")
    before, rows = state(), event_rows()

    def broken(self, recorded, rows):
        raise RuntimeError("projector bug")

    monkeypatch.setattr(CounterProjector, "renamed", broken)
    with pytest.raises(RuntimeError, match="projector bug"):
        store.append(
            "counter", "c1", 0, [CounterOpened(name="c"), CounterIncremented(by=2, note=""), CounterRenamed(name="d")]
        )

    # The first two events were inserted and projected before the third failed: all of it is gone.
    assert (state(), event_rows()) == (before, rows)


def test_expected_version_none_skips_the_check():
    services.counter_open("c1", "first")
    services.counter_increment("c1", 1)

    appended = store.append("counter", "c1", None, [CounterIncremented(by=1, note="")])
    fresh = store.append("counter", "new", None, [CounterOpened(name="new")])

    assert appended[0].version == 3
    assert fresh[0].version == 1
    assert store.stream_version("counter", "c1") == 3


def test_every_row_carries_the_hash_chain():
    history()

    rows = sql(
        "SELECT position, stream_type, stream_id, version, event_type, schema_version, data, metadata, "
        "CAST(recorded_at AS TEXT), hash FROM chorus_event ORDER BY position"
    )
    previous = store.GENESIS_HASH
    for row in rows:
        # Stored as the hash's 32 bytes.
        assert row[9] == bytes.fromhex(store.chain_hash(previous, list(row[:9])))
        previous = row[9].hex()
    assert len({row[9] for row in rows}) == len(rows) == 8
    assert verify_events().checked == 8


def test_an_older_schema_version_is_upcast_on_read_and_replay():
    services.counter_open("c1", "first")
    write_raw_event("c1", 2, "CounterIncremented", {"by": 7}, schema_version=1)

    old = list(store.read())[-1]

    assert old.event == CounterIncremented(by=7, note="")
    assert verify_events().ok
    store.append("counter", "c1", 2, [CounterIncremented(by=1, note="")])
    assert Counter.objects.get(pk="c1").value == 8
    assert json.loads(sql("SELECT data FROM chorus_event WHERE position = 2")[0][0]) == {"by": 7}


@pytest.mark.parametrize(
    ("schema_version", "data", "reason"),
    [
        (3, {"by": 1, "note": ""}, "schema version 3 is newer than this code knows (2)"),
        (1, {"by": "seven"}, "CounterIncremented.by is str 'seven', expected int"),
        (1, {"note": "no by"}, "payload does not fit CounterIncremented"),
        (1, ["not", "an", "object"], "payload is list, not an object"),
    ],
)
def test_a_stored_event_that_cannot_be_decoded_raises_replay_error_naming_it(schema_version, data, reason):
    services.counter_open("c1", "first")
    position = write_raw_event("c1", 2, "CounterIncremented", data, schema_version=schema_version)

    with pytest.raises(ReplayError) as failure:
        list(store.read())

    assert failure.value.position == position == 2
    assert str(failure.value).startswith("event #2 (CounterIncremented): ")
    assert reason in str(failure.value)


@event("session", name="DemoSessionPinged")
class _SessionPinged:
    pass


@dataclasses.dataclass(frozen=True)
class _Unregistered(DomainEvent):
    name: str


_Unregistered.event_type, _Unregistered.stream_type = "CounterOpened", "counter"


@pytest.mark.parametrize(
    ("stream_type", "events", "error", "message"),
    [
        ("counter", [CounterLabelled(labels={"x": object()})], EventError, "payload is not JSON"),
        ("counter", [CounterLabelled(labels={"x": float("nan")})], EventError, "payload is not JSON"),
        ("counter", [CounterLabelled(labels={1: "int key"})], EventError, "does not read back as the same event"),
        ("counter", [CounterLabelled(labels={"t": (1, 2)})], EventError, "does not read back as the same event"),
        ("counter", [CounterLabelled(labels={"s": "\ud800"})], DomainError, "not valid Unicode"),
        ("counter", [CounterIncremented(by="3", note="")], EventError, "CounterIncremented.by is str '3'"),
        ("counter", [CounterIncremented(by=True, note="")], EventError, "CounterIncremented.by is bool"),
        ("counter", [CounterLabelled(labels={"big": "x" * 1_000_001})], EventError, "over 1000000"),
        ("session", [CounterOpened(name="x")], ValueError, "CounterOpened belongs to counter streams, not session"),
        ("counter", [_SessionPinged()], ValueError, "belongs to session streams"),
        ("counter", [_Unregistered(name="x")], TypeError, "_Unregistered is not a registered domain event"),
        ("counter", [{"event_type": "CounterOpened", "name": "x"}], TypeError, "is not a domain event"),
        # One bad event spoils the batch: the good one before it is not written either.
        ("counter", [CounterOpened(name="ok"), CounterIncremented(by=1.5, note="")], EventError, "by is float"),
    ],
    ids=[
        "object",
        "nan",
        "int-key",
        "tuple",
        "surrogate",
        "str-for-int",
        "bool-for-int",
        "too-big",
        "wrong-stream-type",
        "other-stream-type",
        "unregistered",
        "not-an-event",
        "bad-in-batch",
    ],
)
def test_bad_input_is_refused_with_a_clear_error_and_writes_nothing(stream_type, events, error, message):
    services.counter_open("c0", "existing")
    before, rows = state(), event_rows()

    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        store.append(stream_type, "c1", None, events)

    assert (state(), event_rows()) == (before, rows)


@pytest.mark.parametrize("stream_id", ["", "x" * 201])
def test_a_stream_needs_an_id_of_sensible_length(stream_id):
    with pytest.raises(ValueError, match="a stream needs a type and an id"):
        store.append("counter", stream_id, 0, [CounterOpened(name="x")])
    assert event_rows() == []


def test_an_empty_batch_appends_nothing():
    assert store.append("counter", "c1", 0, []) == []
    assert event_rows() == []


def test_event_context_metadata_is_stored_with_every_event():
    with store.event_context(actor="alice", source="web", correlation_id="req-1", request_path="/tasks/"):
        services.counter_open("c1", "first")
        with store.event_context(actor="worker-7", causation_id="evt-1"):
            services.counter_increment("c1", 1)
    services.counter_close("c1")

    opened, incremented, closed = list(store.read())
    assert opened.metadata == {
        "actor": "alice",
        "source": "web",
        "correlation_id": "req-1",
        "request_path": "/tasks/",
    }
    # An inner block overrides key by key and keeps the rest.
    assert incremented.metadata == {
        "actor": "worker-7",
        "source": "web",
        "correlation_id": "req-1",
        "causation_id": "evt-1",
        "request_path": "/tasks/",
    }
    # Outside any block: the system, from the command line, its own correlation.
    assert (closed.metadata["actor"], closed.metadata["source"]) == ("system", "cli")
    assert len(closed.metadata["correlation_id"]) == 32


def test_metadata_read_back_equals_what_append_returned():
    with store.event_context(actor="bob", source="api"):
        live = services.counter_open("c1", "first") + services.counter_open("c2", "second")

    stored = list(store.read())
    assert [e.metadata for e in stored] == [e.metadata for e in live]
    assert [e.recorded_at for e in stored] == [e.recorded_at for e in live]
    assert live[0].metadata["correlation_id"] != live[1].metadata["correlation_id"]


def test_event_context_refuses_an_unknown_source_and_metadata_that_is_not_json():
    with pytest.raises(ValueError, match="unknown source 'mail'"), store.event_context(source="mail"):
        pass
    with store.event_context(actor="x", ticket=object()), pytest.raises(EventError, match="metadata is not JSON"):
        services.counter_open("c1", "first")
    assert event_rows() == []


def test_an_event_type_name_cannot_be_taken_by_a_second_class():
    with pytest.raises(ValueError, match="'CounterClosed' is registered twice"):

        @event("counter", name="CounterClosed")
        class Impostor:
            pass

    assert CounterClosed.event_type == "CounterClosed"
    with pytest.raises(ValueError, match="an event needs a stream type"):
        event("")


def test_every_statement_of_an_append_passes_through_execute_wrappers():
    services.counter_open("c1", "first")
    seen = []

    def spy(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        store.append("counter", "c1", 1, [CounterIncremented(by=1, note="")])

    assert any(sql.startswith("INSERT INTO chorus_event") for sql in seen)
    assert any(sql.startswith('UPDATE "demo_counter"') for sql in seen)
    assert any(sql.startswith("UPDATE chorus_projector_checkpoint") for sql in seen)


def test_record_timestamps_follow_positions():
    history()
    times = [e.recorded_at for e in store.read()]
    assert times == sorted(times)
    assert all(t.tzinfo is not None for t in times)


def test_unknown_stream_has_version_zero_and_empty_log_position_zero():
    assert store.stream_version("counter", "nope") == 0
    assert store.last_position() == 0
    services.counter_open("c1", "x")
    assert store.last_position() == 1


def test_state_helper_sees_read_models_and_checkpoints():
    # The "writes nothing" tests compare state() before and after; it must notice a change to either part.
    before = state()
    services.counter_open("c1", "x")
    after = state()
    assert after[0] != before[0]
    assert after[1] != before[1]


def test_recorded_at_never_goes_back_when_the_clock_does(monkeypatch):
    services.counter_open("c1", "first")
    first = next(store.read()).recorded_at
    monkeypatch.setattr(store.timezone, "now", lambda: first - timedelta(hours=1))

    services.counter_increment("c1", 1)

    later = list(store.read(after=1))
    assert [e.recorded_at for e in later] == [first]
    assert [e.position for e in store.read(since=first)] == [1, 2]
    assert verify_events().ok


def test_a_payload_stored_again_reads_back_as_one_shared_event():
    services.counter_open("c1", "first")
    services.counter_increment("c1", 1)
    services.counter_increment("c1", 1)
    services.counter_increment("c1", 2)
    services.counter_open("c2", "first")

    opened, one, again, two, other = (e.event for e in store.read())
    assert one is again
    assert two == CounterIncremented(by=2, note="") and two is not one
    assert other == opened and other is opened


def test_append_many_writes_every_stream_in_one_step_as_appends_one_by_one_would():
    services.counter_open("c1", "first")

    recorded = store.append_many(
        [
            ("counter", "c1", 1, [CounterIncremented(by=2, note="")]),
            ("counter", "c2", 0, [CounterOpened(name="second"), CounterIncremented(by=5, note="")]),
            ("counter", "empty", 0, []),
            ("counter", "c1", 2, [CounterRenamed(name="renamed")]),
        ]
    )

    assert [(e.position, e.stream_id, e.version) for e in recorded] == [
        (2, "c1", 2),
        (3, "c2", 1),
        (4, "c2", 2),
        (5, "c1", 3),
    ]
    assert len({e.metadata["correlation_id"] for e in recorded}) == 1
    assert len({e.recorded_at for e in recorded}) == 1
    assert [(c.pk, c.name, c.value) for c in Counter.objects.order_by("pk")] == [
        ("c1", "renamed", 2),
        ("c2", "second", 5),
    ]
    assert Stream.objects.get(pk="counter:c2").version == 2
    assert checkpoints() == dict.fromkeys(checkpoints(), 5)
    assert projection.verify() == []
    assert verify_events().checked == 5


def test_append_many_with_one_stream_behind_writes_nothing_and_names_that_stream():
    services.counter_open("c1", "first")
    before, rows = state(), event_rows()

    with transaction.atomic():
        with pytest.raises(ConcurrencyError) as conflict:
            store.append_many(
                [
                    ("counter", "c2", 0, [CounterOpened(name="second")]),
                    ("counter", "c1", 0, [CounterOpened(name="again")]),
                    ("counter", "c3", 0, [CounterOpened(name="third")]),
                ]
            )
        assert not connection.needs_rollback

    assert (conflict.value.stream_id, conflict.value.expected, conflict.value.actual) == ("c1", 0, 1)
    assert (state(), event_rows()) == (before, rows)
    assert not Counter.objects.filter(pk__in=["c2", "c3"]).exists()


def test_append_many_of_a_stream_named_twice_checks_the_second_against_the_first():
    with pytest.raises(ConcurrencyError) as conflict:
        store.append_many(
            [("counter", "c1", 0, [CounterOpened(name="c")]), ("counter", "c1", 0, [CounterRenamed(name="d")])]
        )
    assert (conflict.value.expected, conflict.value.actual) == (0, 1)
    assert event_rows() == []


@pytest.mark.parametrize("streams", [2, 1200], ids=["two streams", "more than one statement of heads"])
def test_append_many_reads_the_versions_of_many_streams(streams):
    first = store.append_many([("counter", f"c{n}", 0, [CounterOpened(name="c")]) for n in range(streams)])
    second = store.append_many([("counter", f"c{n}", 1, [CounterRenamed(name="d")]) for n in range(streams)])

    assert [e.version for e in first] == [1] * streams
    assert [e.version for e in second] == [2] * streams
    assert second[-1].position == 2 * streams
    assert verify_events().checked == 2 * streams


def test_a_read_event_is_the_same_frozen_value_as_one_constructed():
    services.counter_open("c1", "first")
    [read] = store.read()
    made = store.RecordedEvent(**{field.name: getattr(read, field.name) for field in dataclasses.fields(read)})

    assert read == made
    assert vars(read) == vars(made)
    with pytest.raises(dataclasses.FrozenInstanceError):
        read.version = 2


def test_a_read_in_chunks_shares_one_appends_metadata_and_time_across_the_chunks():
    services.counter_open("c1", "first")
    store.append("counter", "c1", 1, [CounterIncremented(by=1, note="") for _ in range(4)])
    read = list(store.read(after=1, chunk=2))

    assert [item.position for item in read] == [2, 3, 4, 5]
    assert all(item.metadata is read[0].metadata and item.recorded_at is read[0].recorded_at for item in read)
    assert all(item.event is read[0].event for item in read)
