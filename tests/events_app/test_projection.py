"""Projectors: idempotent application, checkpoints in the append's transaction, catch-up, rebuild == live,
verify's diff, and the Rows unit of work they write through."""

import subprocess
from datetime import timedelta

import pytest
from django.db import DatabaseError, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from events_app import projection, store
from events_app.models import ProjectorCheckpoint, StoredEvent, Stream
from events_app.recorders.base import hash_text
from events_app.store import ReplayError
from tests.demo import services
from tests.demo.events import CounterIncremented
from tests.demo.models import Counter, CounterTotal
from tests.demo.projectors import CounterProjector
from tests.events_app.helpers import checkpoints, event_rows, history, projection_names, sql, state

pytestmark = pytest.mark.django_db


def test_every_checkpoint_is_at_the_last_event_after_an_append():
    history()
    assert checkpoints() == dict.fromkeys(projection_names(), 8)


def test_reapplying_events_at_or_below_the_checkpoint_changes_nothing():
    services.counter_open("c1", "first")
    recorded = services.counter_increment("c1", 5) + services.counter_increment("c1", 2)
    before = state()

    projection.apply_events(recorded)
    projection.apply_events(recorded[1:])
    projection.apply_events(list(store.read()))

    assert state() == before
    assert Counter.objects.get(pk="c1").value == 7


def test_events_above_the_checkpoint_are_applied_and_those_below_skipped_in_one_batch():
    services.counter_open("c1", "first")
    recorded = services.counter_increment("c1", 5) + services.counter_increment("c1", 2)
    # As if the last event had been appended but not yet projected.
    ProjectorCheckpoint.objects.update(position=2)
    Counter.objects.filter(pk="c1").update(value=5, increments=1)
    CounterTotal.objects.filter(pk="all").update(total=5)
    Stream.objects.filter(pk="counter:c1").update(version=2, last_position=2)

    projection.apply_events(recorded)

    assert Counter.objects.get(pk="c1").value == 7
    assert projection.verify() == []


def test_checkpoints_and_read_models_roll_back_with_the_append():
    services.counter_open("c1", "first")
    before = state()

    with transaction.atomic():
        services.counter_increment("c1", 5)
        assert Counter.objects.get(pk="c1").value == 5
        assert checkpoints()["demo_counters"] == 2
        transaction.set_rollback(True)

    assert state() == before
    assert len(event_rows()) == 1


def test_a_failing_projector_rolls_back_the_event_and_every_checkpoint(monkeypatch):
    services.counter_open("c1", "first")
    before, rows = state(), event_rows()

    def broken(self, recorded, rows):
        raise ZeroDivisionError

    monkeypatch.setattr(CounterProjector, "incremented", broken)
    with pytest.raises(ZeroDivisionError):
        services.counter_increment("c1", 1)

    assert (state(), event_rows()) == (before, rows)


def test_a_projector_that_is_behind_catches_up_on_the_next_append(monkeypatch):
    history()
    with projection.unregistered("demo_counters"):
        services.counter_increment("a", 10)
        services.counter_open("c", "Cherries")
    assert checkpoints()["demo_counters"] == 8
    assert Counter.objects.get(pk="a").value == 2

    services.counter_increment("a", 100)

    assert Counter.objects.get(pk="a").value == 112
    assert Counter.objects.get(pk="c").name == "Cherries"
    assert checkpoints() == dict.fromkeys(projection_names(), 11)
    assert projection.verify() == []


def test_a_new_projector_catches_up_from_the_start_on_the_next_append():
    history()
    # A projector added to a running system: empty tables, no checkpoint yet.
    Counter.objects.all().delete()
    CounterTotal.objects.all().delete()
    ProjectorCheckpoint.objects.filter(name="demo_counters").delete()

    store.append("counter", "a", None, [CounterIncremented(by=1, note="")])

    assert Counter.objects.get(pk="a").value == 3
    assert CounterTotal.objects.get(pk="all").total == 8
    assert projection.verify() == []


def test_catch_up_brings_every_projector_to_the_end_of_the_log(monkeypatch):
    history()
    with projection.unregistered("demo_counters"):
        services.counter_increment("a", 10)
        services.counter_increment("a", 20)

    assert projection.catch_up() == 2
    assert projection.catch_up() == 0
    assert Counter.objects.get(pk="a").value == 32
    assert checkpoints() == dict.fromkeys(projection_names(), 10)
    assert projection.verify() == []


def test_rebuild_equals_live():
    history()
    live = projection.snapshot()

    result = projection.rebuild()

    assert projection.snapshot() == live
    assert live["demo_counter"]["a"]["labels"] == {"colour": "red"}
    assert result == {"events": 8, "position": 8, "projections": list(projection_names())}
    assert checkpoints() == dict.fromkeys(projection_names(), 8)


def test_rebuild_of_one_projection_leaves_the_others_alone():
    history()
    Counter.objects.filter(pk="a").update(value=-50)
    Stream.objects.filter(pk="counter:a").update(version=99)

    projection.rebuild(["demo_counters", "demo_counters"])

    assert Counter.objects.get(pk="a").value == 2
    assert Stream.objects.get(pk="counter:a").version == 99
    assert projection.verify(["demo_counters"]) == []
    assert projection.verify(["streams"]) == ["chorus_stream counter:a.version: live 99 != replay 5"]


def test_verify_reports_a_readable_diff_and_changes_nothing():
    history()
    Counter.objects.filter(pk="a").update(value=99, name="Tampered")
    Counter.objects.filter(pk="b").delete()
    Counter.objects.create(id="ghost", name="Ghost")
    tampered = state()

    differences = projection.verify()

    opened_b = next(store.read(after=2, until=3)).recorded_at
    assert differences == [
        "demo_counter ghost: in the live table, not in the replay: {'id': 'ghost', 'name': 'Ghost', 'value': 0, "
        "'increments': 0, 'closed': False, 'labels': {}, 'opened_at': None}",
        "demo_counter b: missing from the live table; replay gives {'id': 'b', 'name': 'Bananas', 'value': 5, "
        f"'increments': 1, 'closed': True, 'labels': {{}}, 'opened_at': '{opened_b}'}}",
        "demo_counter a.name: live 'Tampered' != replay 'Green apples'",
        "demo_counter a.value: live 99 != replay 2",
    ]
    assert state() == tampered


def test_verify_and_rebuild_stop_at_a_failing_handler_naming_the_event(monkeypatch):
    history()
    before = state()

    def broken(self, recorded, rows):
        raise KeyError("colour")

    monkeypatch.setattr(CounterProjector, "labelled", broken)
    for run in (projection.rebuild, projection.verify):
        with pytest.raises(ReplayError) as failure:
            run()
        assert failure.value.position == 5
        assert str(failure.value) == "event #5 (CounterLabelled): projection demo_counters failed: KeyError('colour')"
    assert state() == before


def test_unknown_projection_names_are_refused():
    with pytest.raises(KeyError, match="unknown projection\\(s\\): nope; known: "):
        projection.rebuild(["demo_counters", "nope"])


def test_a_projector_name_cannot_be_registered_by_a_second_class():
    class Impostor(projection.Projector):
        name = "demo_counters"

    with pytest.raises(ValueError, match="'demo_counters' is registered twice"):
        projection.register(Impostor)
    assert type(projection.projectors(["demo_counters"])[0]) is CounterProjector


def test_rows_write_back_only_changed_columns_and_see_in_place_json_changes():
    services.counter_open("c1", "first")
    rows = projection.Rows()
    counter = rows.get(Counter, "c1")
    counter.labels["colour"] = "blue"
    rows.save(counter)

    statements = []

    def record(execute, sql, params, many, context):
        statements.append(sql)
        return execute(sql, params, many, context)

    # A wrapper sees the statement as sent on every backend (a captured executemany on PostgreSQL has no text).
    with transaction.get_connection().execute_wrapper(record):
        rows.flush()

    assert Counter.objects.get(pk="c1").labels == {"colour": "blue"}
    [update] = [sql for sql in statements if "UPDATE" in sql]
    assert 'UPDATE "demo_counter" SET "labels" = ' in update
    assert '"name"' not in update


def test_rows_convert_a_datetime_shared_by_rows_once_and_each_other_one_anew(monkeypatch):
    shared, other = timezone.now(), timezone.now() + timedelta(hours=1)
    converted = []
    field = Counter._meta.get_field("opened_at")
    original = type(field).get_db_prep_save

    def counting(self, value, connection):
        converted.append(value)
        return original(self, value, connection)

    monkeypatch.setattr(type(field), "get_db_prep_save", counting)
    rows = projection.Rows()
    for key, when in (("a", shared), ("b", shared), ("c", other), ("d", shared)):
        rows.save(Counter(id=key, name=key, opened_at=when))
    rows.flush()

    assert converted == [shared, other, shared]
    assert dict(Counter.objects.values_list("id", "opened_at")) == {"a": shared, "b": shared, "c": other, "d": shared}


def test_rows_write_every_column_again_after_a_flush():
    services.counter_open("c1", "first")
    rows = projection.Rows()
    counter = rows.get(Counter, "c1")
    counter.value = 5
    rows.save(counter)
    rows.flush()
    # Back to the value it was read with: still a change to write, since the table now holds 5.
    counter.value = 0
    rows.save(counter)
    rows.flush()

    assert Counter.objects.get(pk="c1").value == 0


def test_rows_delete_then_create_under_the_same_key_in_one_flush():
    services.counter_open("c1", "first")
    rows = projection.Rows()
    rows.delete(rows.get(Counter, "c1"))
    rows.save(Counter(id="c1", name="reborn"))
    again = rows.get(Counter, "c1")
    rows.delete(rows.get(Counter, "missing") or Counter(id="missing"))
    rows.flush()

    assert again.name == "reborn"
    assert list(Counter.objects.values_list("id", "name")) == [("c1", "reborn")]


def test_rows_write_a_row_created_over_a_deleted_one_in_full_later():
    services.counter_open("c1", "first")
    services.counter_increment("c1", 5)
    rows = projection.Rows()
    rows.delete(rows.get(Counter, "c1"))
    reborn = Counter(id="c1", name="reborn")
    rows.save(reborn)
    rows.flush()
    # Back to what the deleted row held: the table holds the new row's 0, so this must be written.
    reborn.value = 5
    rows.save(reborn)
    rows.flush()

    assert Counter.objects.get(pk="c1").value == 5


def test_rows_keep_a_deleted_row_saved_again():
    services.counter_open("c1", "first")
    rows = projection.Rows()
    counter = rows.get(Counter, "c1")
    rows.delete(counter)
    counter.value = 3
    rows.save(counter)
    rows.flush()

    assert Counter.objects.get(pk="c1").value == 3


def test_rows_refuse_a_row_without_a_key_and_an_update_of_a_vanished_row():
    services.counter_open("c1", "first")
    rows = projection.Rows()
    with pytest.raises(ValueError, match="StoredEvent row has no primary key"):
        rows.save(StoredEvent())
    counter = rows.get(Counter, "c1")
    counter.value = 1
    rows.save(counter)
    Counter.objects.filter(pk="c1").delete()

    with pytest.raises(DatabaseError, match="1 Counter row\\(s\\) to update are missing from demo_counter"):
        rows.flush()


def test_rows_filter_sees_pending_writes_and_returns_the_mapped_copies():
    services.counter_open("c1", "first")
    services.counter_open("c2", "second")
    rows = projection.Rows()
    first = rows.get(Counter, "c1")
    first.closed = True
    rows.save(first)
    rows.save(Counter(id="c3", name="third", closed=True))

    found = rows.filter(Counter, closed=True)

    assert sorted(c.pk for c in found) == ["c1", "c3"]
    assert next(c for c in found if c.pk == "c1") is first


def test_the_checkpoint_read_is_skipped_only_while_this_process_wrote_the_last_event(
    django_capture_on_commit_callbacks,
):
    history()
    connection = transaction.get_connection()

    def reads_checkpoints() -> bool:
        version = store.stream_version("counter", "a")
        with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=True):
            store.append("counter", "a", version, [CounterIncremented(by=1, note="")])
        return "SELECT name, position FROM chorus_projector_checkpoint" in [q["sql"] for q in queries]

    assert reads_checkpoints()  # nothing remembered yet
    assert not reads_checkpoints()  # this process wrote the last event and committed
    # A rolled-back append is not remembered, and does not spoil what is.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.counter_increment("a", 1)
        transaction.set_rollback(True)
    assert not reads_checkpoints()
    # An append this process did not see commit (as if by another process) moves the log on: read again.
    services.counter_increment("a", 1)
    assert reads_checkpoints()
    assert projection.verify() == []


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_append_by_another_process_is_never_applied_twice(manage, subprocess_env):
    # This process appends last and remembers the checkpoints; then another process appends. The next append
    # here must see that the log moved on (a naive cache would replay the other process's event again).
    services.counter_open("shared", "shared")
    services.counter_increment("shared", 1)
    subprocess.run([*manage, "demo_append", "shared"], env=subprocess_env, check=True, capture_output=True)

    services.counter_increment("shared", 1)

    assert Counter.objects.get(pk="shared").value == 3
    assert checkpoints() == dict.fromkeys(projection_names(), 4)
    assert projection.verify() == []
    # In a transactional test the commit hooks ran: this process remembers the log's last event.
    remembered = store.recorder().remembered("projection")
    assert remembered is not None
    assert remembered[0] == hash_text(sql("SELECT hash FROM chorus_event WHERE position = 4")[0][0])


def test_rows_update_writes_columns_without_reading_the_row():
    services.counter_open("c1", "first")
    services.counter_increment("c1", 1)
    rows = projection.Rows()

    with CaptureQueriesContext(transaction.get_connection()) as queries:
        rows.update(Stream, "counter:c1", version=7, last_event_type="CounterRenamed")
        rows.flush()

    assert [q["sql"] for q in queries] == [
        '1 times: UPDATE "chorus_stream" SET "version" = %s, "last_event_type" = %s WHERE "key" = %s'
    ]
    stream = Stream.objects.get(pk="counter:c1")
    assert (stream.version, stream.last_event_type, stream.last_position) == (7, "CounterRenamed", 2)


def test_rows_update_then_get_sees_the_new_values_and_writes_them():
    services.counter_open("c1", "first")
    rows = projection.Rows()
    rows.update(Counter, "c1", value=4, labels={"k": "v"})

    counter = rows.get(Counter, "c1")
    counter.increments = 2
    rows.save(counter)
    rows.flush()

    assert (counter.value, counter.labels, counter.name) == (4, {"k": "v"}, "first")
    assert Counter.objects.filter(pk="c1", value=4, increments=2, labels={"k": "v"}).exists()


def test_rows_update_of_a_row_in_the_map_changes_that_row():
    rows = projection.Rows(fresh=[Counter])
    rows.save(Counter(id="c1", name="new"))
    rows.update(Counter, "c1", value=3)
    rows.flush()

    assert Counter.objects.get(pk="c1").value == 3


def test_rows_update_of_a_missing_row_is_an_error():
    services.counter_open("c1", "first")
    rows = projection.Rows()
    rows.update(Counter, "nope", value=1)
    with pytest.raises(DatabaseError, match="1 Counter row\\(s\\) to update are missing from demo_counter"):
        rows.flush()

    fresh = projection.Rows(fresh=[Counter])
    with pytest.raises(DatabaseError, match="Counter 'nope' does not exist to be updated"):
        fresh.update(Counter, "nope", value=1)
    with pytest.raises(ValueError, match="Counter has no column\\(s\\) colour to update"):
        fresh.update(Counter, "c1", colour="red")


def test_a_stream_row_deleted_behind_the_projector_stops_appends_to_that_stream():
    services.counter_open("c1", "first")
    Stream.objects.filter(pk="counter:c1").delete()

    with pytest.raises(DatabaseError, match="Stream row\\(s\\) to update are missing from chorus_stream"):
        services.counter_increment("c1", 1)

    projection.rebuild(["streams"])
    services.counter_increment("c1", 1)
    assert projection.verify() == []


def test_rows_update_of_a_row_in_the_map_refuses_an_unknown_column_and_keeps_the_row():
    rows = projection.Rows(fresh=[Counter])
    rows.save(Counter(id="c1", name="new"))
    with pytest.raises(ValueError, match="Counter has no column\\(s\\) colour to update"):
        rows.update(Counter, "c1", value=3, colour="red")
    rows.flush()

    assert Counter.objects.get(pk="c1").value == 0


def test_a_projector_registered_or_unregistered_is_asked_about_event_types_anew():
    services.counter_open("c1", "first")
    with projection.unregistered("demo_counters"):
        services.counter_increment("c1", 1)
    assert Counter.objects.get(pk="c1").value == 0
    # Back in the registry it catches up, and the next append projects into it again.
    services.counter_increment("c1", 2)

    assert Counter.objects.get(pk="c1").value == 3
    assert projection.verify() == []
